"""The transactions explorer's filters: the ledger API's, plus what the dashboards drill into.

A number on a dashboard links here with the filter that selects exactly the transactions
it counts, so the list's length equals the number: ``risk`` and ``age`` for revenue at risk
(as of the snapshot the figure came from), ``breached`` and ``measured`` for an SLA policy's
breaches and latencies decided in [``since``, ``until``), ``started_within`` for figures over a
period. ``dashboards/drill.py`` says which rows each selects and works out their total.
"""

from datetime import datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from tracking.filtersets import TransactionFilterSet
from tracking.models import Stage

from . import drill
from .models import SlaPolicy
from .models.risk import RiskAge, RiskReason
from .queries import BadQuery, parse_window, window_bounds

SORTS = {
    "recent": ("-last_event_at", "Latest news"),
    "amount": ("-amount", "Amount"),
    "age": ("started_at", "Oldest first"),
    "deadline": ("next_deadline_at", "Next deadline"),
    "slowest": ("-latency", "Slowest first"),  # only with ``measured``: its latency bin
}


def _valid_window(value: str) -> None:
    try:
        parse_window(value)
    except BadQuery as exc:
        # As params, not the message: filter errors are %-formatted, and the value may hold "%".
        raise ValidationError("%(reason)s", params={"reason": str(exc)}) from exc


class ExplorerFilterSet(TransactionFilterSet):
    risk = django_filters.ChoiceFilter(
        choices=[("any", "Any reason"), *RiskReason.choices],
        method="filter_risk",
        label="At risk because",
    )
    age = django_filters.ChoiceFilter(
        choices=RiskAge.choices, method="filter_nothing", label="At risk for"
    )
    error_code = django_filters.CharFilter(label="Latest error code")
    reached = django_filters.CharFilter(method="filter_reached", label="Reached stage")
    started_within = django_filters.CharFilter(
        method="filter_started", label="Started within", validators=[_valid_window]
    )
    as_of = django_filters.IsoDateTimeFilter(method="filter_nothing", label="As of")
    breached = django_filters.ModelChoiceFilter(
        queryset=SlaPolicy.objects.all(),
        to_field_name="slug",
        method="filter_breached",
        label="Breached SLA policy",
    )
    measured = django_filters.ModelChoiceFilter(
        queryset=SlaPolicy.objects.all(),
        to_field_name="slug",
        method="filter_measured",
        label="Latency measured for policy",
    )
    since = django_filters.IsoDateTimeFilter(method="filter_nothing", label="Decided from")
    until = django_filters.IsoDateTimeFilter(method="filter_nothing", label="Decided before")

    def _as_of(self) -> datetime:
        return self.form.cleaned_data.get("as_of") or timezone.now()

    def period(self) -> tuple[datetime | None, datetime | None]:
        """[since, until) of the facts a breached / measured figure counted."""
        return self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        age = self.form.cleaned_data.get("age")
        if age and not self.form.cleaned_data.get("risk"):
            queryset = queryset.filter(drill.at_risk("any", self._as_of(), age))
        return queryset

    def filter_nothing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # read by the filters that use it: the moment, the age, the period

    def filter_risk(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        age = self.form.cleaned_data.get("age") or ""
        return queryset.filter(drill.at_risk(value, self._as_of(), age))

    def filter_breached(self, queryset: QuerySet, name: str, value: SlaPolicy) -> QuerySet:
        return queryset.filter(drill.fact_q(f"sla_breached:{value.id}", *self.period()))

    def filter_measured(self, queryset: QuerySet, name: str, value: SlaPolicy) -> QuerySet:
        return queryset.filter(drill.fact_q(drill.latency_prefix(value), *self.period(), True))

    def filter_started(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The window's start as the figures count it (floored to its 5-minute bucket).
        start, _ = window_bounds(timezone.now(), parse_window(value))
        return queryset.filter(started_at__gte=start)

    def filter_reached(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """At this stage or past it, as the funnel counts: by the current stage's position."""
        reached = Q(pk__in=[])
        for stage in Stage.objects.filter(slug=value):
            reached |= Q(journey_id=stage.journey_id, current_stage__position__gte=stage.position)
        return queryset.filter(reached)
