"""One FilterSet for the transactions API and the transactions page; a strict yes/no filter."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from .models import Transaction, TransactionStatus


class StrictBooleanField(forms.NullBooleanField):
    """true/false (1/0, yes/no); anything else is an error, not "no filter".

    django-filter's BooleanFilter reads ``stuck=maybe`` as absent and lists everything: a
    client that misspelt the value then acts on rows it did not ask for.
    """

    widget = forms.TextInput
    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off"})

    def to_python(self, value: object) -> bool | None:
        if isinstance(value, bool):
            return value
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        # The value goes in params: django-filter formats the message with them, and a
        # "%" in the value itself would break that.
        raise ValidationError(
            "%(value)r is not true or false", code="invalid", params={"value": value}
        )

    def validate(self, value: object) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class TransactionFilterSet(django_filters.FilterSet):
    # No DISTINCT (django-filter's default here): a status IN (...) cannot repeat a row, and
    # DISTINCT over every column of a large result costs more than the rest of the query.
    status = django_filters.MultipleChoiceFilter(
        field_name="state__status", choices=TransactionStatus.choices, distinct=False
    )
    stage = django_filters.CharFilter(field_name="current_stage__slug")
    journey = django_filters.CharFilter(field_name="journey__slug")
    flow = django_filters.CharFilter(field_name="flow__slug")
    region = django_filters.CharFilter()
    business_unit = django_filters.CharFilter()
    legal_entity = django_filters.CharFilter()
    stuck = StrictBooleanFilter(method="filter_stuck")
    min_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    max_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    q = django_filters.CharFilter(
        method="filter_search", label="Correlation ID, customer, contract or invoice"
    )

    class Meta:
        model = Transaction
        fields = ["status", "stage", "journey", "flow", "region", "business_unit", "legal_entity"]

    def filter_stuck(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if value:
            return queryset.filter(state__status=TransactionStatus.STUCK)
        return queryset.exclude(state__status=TransactionStatus.STUCK)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(correlation_id__istartswith=value)
            | Q(customer__istartswith=value)
            | Q(contract__istartswith=value)
            | Q(invoice__istartswith=value)
        )
