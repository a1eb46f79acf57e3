"""The transactions explorer's filters: the ledger API's, plus what the dashboards drill into.

A number on a dashboard links here with the filter that selects exactly the transactions
it counts, so the list's length equals the number: ``risk`` for revenue at risk by reason
(as of the snapshot the figure came from), ``started_within`` for figures over a period.
"""

from datetime import datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tracking.filtersets import TransactionFilterSet
from tracking.models import Stage, TransactionStatus

from .models import RiskClock
from .models.risk import RiskReason
from .queries import BadQuery, parse_window, window_bounds

SORTS = {
    "recent": ("-last_event_at", "Latest news"),
    "amount": ("-amount", "Amount"),
    "age": ("started_at", "Oldest first"),
    "deadline": ("next_deadline_at", "Next deadline"),
}


def _valid_window(value: str) -> None:
    try:
        parse_window(value)
    except BadQuery as exc:
        # As params, not the message: filter errors are %-formatted, and the value may hold "%".
        raise ValidationError("%(reason)s", params={"reason": str(exc)}) from exc


class ExplorerFilterSet(TransactionFilterSet):
    risk = django_filters.ChoiceFilter(
        choices=[
            ("any", "Any reason"),
            *((r.value, r.label) for r in RiskReason if r != RiskReason.SOON),
        ],
        method="filter_risk",
        label="At risk because",
    )
    error_code = django_filters.CharFilter(label="Latest error code")
    reached = django_filters.CharFilter(method="filter_reached", label="Reached stage")
    started_within = django_filters.CharFilter(
        method="filter_started", label="Started within", validators=[_valid_window]
    )
    as_of = django_filters.IsoDateTimeFilter(method="filter_nothing", label="As of")

    def _as_of(self) -> datetime:
        return self.form.cleaned_data.get("as_of") or timezone.now()

    def filter_nothing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # read by filter_risk: the moment the figure was taken

    def filter_risk(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(at_risk(value, self._as_of()))

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


def at_risk(reason: str, moment: datetime) -> Q:
    """Transactions at risk for ``reason`` ("any" for all), by the rules of ``risk.assess``:
    failed or stuck from the ledger; past an SLA or month-close deadline while moving."""
    if reason in (RiskReason.FAILED, RiskReason.STUCK):
        return Q(state__status=reason)
    clocks = RiskClock.objects.filter(transaction_id=OuterRef("pk"))
    leaking = Q(close_deadline__lte=moment)
    if reason == RiskReason.LEAKAGE:
        clocks = clocks.filter(leaking)
    elif reason == RiskReason.OVERDUE:
        clocks = clocks.filter(deadline__lte=moment).exclude(leaking)
    else:
        clocks = clocks.filter(leaking | Q(deadline__lte=moment))
    moving = Q(Exists(clocks), state__status=TransactionStatus.IN_PROGRESS)
    if reason == "any":
        return moving | Q(state__status__in=[TransactionStatus.FAILED, TransactionStatus.STUCK])
    return moving
