"""One FilterSet for the exceptions API and the queue page (its filters live in the URL)."""

import django_filters
from django.db.models import Q, QuerySet

from tracking.filtersets import StrictBooleanFilter
from tracking.models import Flow

from .models import CaseKind, CaseStatus, ExceptionCase, TeamMember


class CaseFilterSet(django_filters.FilterSet):
    # No DISTINCT (django-filter's default here): a status IN (...) cannot repeat a row, and
    # DISTINCT over every column of a large result costs more than the rest of the query.
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices, distinct=False)
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    correlation_id = django_filters.CharFilter()
    # By id, not by joining flows: the queue's partial indexes carry flow_id.
    flow = django_filters.CharFilter(method="filter_flow")
    stage = django_filters.CharFilter(field_name="stage__slug")
    journey = django_filters.CharFilter(field_name="journey__slug")
    error_code = django_filters.CharFilter()
    region = django_filters.CharFilter()
    business_unit = django_filters.CharFilter()
    owner = django_filters.CharFilter(field_name="owner__username")
    team = django_filters.CharFilter()
    min_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    max_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    mine = StrictBooleanFilter(method="filter_mine", label="Owned by me")
    unassigned = StrictBooleanFilter(method="filter_unassigned", label="No owner")
    my_team = StrictBooleanFilter(method="filter_my_team", label="My teams")
    awaiting_approval = StrictBooleanFilter(
        method="filter_awaiting", label="A replay awaits approval"
    )

    class Meta:
        model = ExceptionCase
        fields = ["status", "correlation_id", "flow", "owner", "team"]

    def _user_id(self) -> int | None:
        user = getattr(self.request, "user", None)
        return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None

    def filter_flow(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            flow_id__in=list(Flow.objects.filter(slug=value).values_list("id", flat=True))
        )

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(owner_id=self._user_id())

    def filter_unassigned(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(owner__isnull=value)

    def filter_my_team(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(Q(team__in=teams_of(self._user_id())))

    def filter_awaiting(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(replays__status="awaiting_approval").distinct()


def teams_of(user_id: int | None) -> list[str]:
    if user_id is None:
        return []
    return list(TeamMember.objects.filter(user_id=user_id).values_list("team", flat=True))
