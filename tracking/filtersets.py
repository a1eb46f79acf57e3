"""One FilterSet for the transactions API and (later) the transactions page."""

import django_filters
from django.db.models import Q, QuerySet

from .models import Transaction, TransactionStatus


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
    stuck = django_filters.BooleanFilter(method="filter_stuck")
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
