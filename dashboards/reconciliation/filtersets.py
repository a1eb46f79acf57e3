"""One FilterSet each for the contracts and the breaks, shared by the API and the pages."""

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from tracking.filtersets import StrictBooleanFilter

from ..models import BreakKind, Contract, ContractBreak


def _prefix(queryset: QuerySet, value: str, *fields: str) -> QuerySet:
    value = value.strip()
    if not value:
        return queryset
    match = Q()
    for name in fields:
        match |= Q(**{f"{name}__istartswith": value})
    return queryset.filter(match)


class ContractFilterSet(django_filters.FilterSet):
    customer = django_filters.CharFilter()
    region = django_filters.CharFilter()
    business_unit = django_filters.CharFilter()
    legal_entity = django_filters.CharFilter()
    has_breaks = StrictBooleanFilter(method="filter_has_breaks", label="With open breaks")
    kind = django_filters.ChoiceFilter(
        choices=BreakKind.choices, method="filter_kind", label="With an open break of kind"
    )
    q = django_filters.CharFilter(method="filter_search", label="Contract or customer")

    class Meta:
        model = Contract
        fields = ["customer", "region", "business_unit", "legal_entity"]

    def filter_has_breaks(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(open_breaks__gt=0) if value else queryset.filter(open_breaks=0)

    def filter_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        open_of_kind = ContractBreak.objects.filter(
            contract=OuterRef("pk"), kind=value, cleared_at=None
        )
        return queryset.filter(Exists(open_of_kind))

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _prefix(queryset, value, "key", "customer")


class BreakFilterSet(django_filters.FilterSet):
    """Open breaks; the contract's dimensions filter them as the contracts list does."""

    contract = django_filters.CharFilter(field_name="contract__key")
    customer = django_filters.CharFilter(field_name="contract__customer")
    region = django_filters.CharFilter(field_name="contract__region")
    business_unit = django_filters.CharFilter(field_name="contract__business_unit")
    legal_entity = django_filters.CharFilter(field_name="contract__legal_entity")
    kind = django_filters.ChoiceFilter(choices=BreakKind.choices)
    min_amount = django_filters.NumberFilter(
        field_name="amount_reporting", lookup_expr="gte", label="At least (reporting currency)"
    )
    q = django_filters.CharFilter(method="filter_search", label="Contract or customer")

    class Meta:
        model = ContractBreak
        fields = ["kind"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _prefix(queryset, value, "contract__key", "contract__customer")
