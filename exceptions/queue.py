"""The queue's read side: cases ranked by the money they hold up and for how long."""

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Min,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from .models import ACTIVE_STATUSES, CaseStatus, ExceptionCase

CENT = Decimal("0.01")
BOUNDED_DEPTH = 500  # cases: the first ten pages of the queue
SORTS = {
    "rank": "Money x age (default)",
    "amount": "Amount",
    "age": "Oldest first",
    "recent": "Last seen",
}


class AgeSeconds(Func):
    """Seconds from a timestamp column to ``now``, in SQL, so the database can rank."""

    output_field = FloatField()

    def __init__(self, column: str, now: datetime) -> None:
        super().__init__(Value(now), F(column))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            # date_part answers a double; EXTRACT answers numeric, several times slower to
            # compute and multiply across every open case.
            template="date_part('epoch', %(expressions)s)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


def ranked(queryset: QuerySet, sort: str, now: datetime) -> QuerySet:
    if sort == "amount":
        return queryset.order_by(F("amount").desc(nulls_last=True), "opened_at", "id")
    if sort == "age":
        return queryset.order_by("opened_at", "id")
    if sort == "recent":
        return queryset.order_by("-last_seen_at", "-id")
    money = Coalesce(Cast("amount", FloatField()), Value(0.0), output_field=FloatField())
    rank = ExpressionWrapper(money * AgeSeconds("opened_at", now), output_field=FloatField())
    return queryset.annotate(rank=rank).order_by(F("rank").desc(), "opened_at", "id")


def page_ids(queryset: QuerySet, sort: str, now: datetime, offset: int, limit: int) -> list[int]:
    """The ids of one page of ``queryset`` in ``sort`` order.

    Ranking by amount x age computes a product for every case and no index can keep that
    order, since it changes with the clock. So first bound it: among a few real cases (the
    largest amounts and the oldest), the ``offset + limit``-th best rank R is a rank the
    page's last case must reach, and a case can reach R only if its amount is at least
    R / (age of the oldest case). Ranking just the cases above that amount gives the same
    page, from a small share of them.
    """
    if sort == "amount":
        return _by_amount(queryset, offset, limit)
    ordered = ranked(queryset, sort, now)
    # Deep pages would need a large sample read into Python; ranking every case in SQL is
    # cheaper there.
    if sort == "rank" and offset + limit <= BOUNDED_DEPTH:
        floor = _rank_floor(queryset, now, offset + limit)
        if floor is not None:
            ordered = ordered.filter(amount__gte=floor)
    return list(ordered.values_list("id", flat=True)[offset : offset + limit])


def _by_amount(queryset: QuerySet, offset: int, limit: int) -> list[int]:
    """Largest first, unpriced last: read as two parts (priced by the amount index, then
    unpriced by age) rather than with NULLS LAST, which the index cannot serve."""
    priced = queryset.filter(amount__isnull=False).order_by("-amount", "opened_at", "id")
    ids = list(priced.values_list("id", flat=True)[offset : offset + limit])
    if len(ids) == limit:
        return ids
    skip = max(offset - priced.count(), 0) if not ids else 0
    unpriced = queryset.filter(amount__isnull=True).order_by("opened_at", "id")
    return ids + list(unpriced.values_list("id", flat=True)[skip : skip + limit - len(ids)])


def _rank_floor(queryset: QuerySet, now: datetime, needed: int) -> Decimal | None:
    priced = queryset.filter(amount__isnull=False).values_list("id", "amount", "opened_at")
    # Four times as many large amounts as needed: their ages vary, and the
    # better ranks among them give a higher, so tighter, bound than the needed alone would.
    largest = priced.order_by("-amount")[: needed * 4]
    sample = {*largest, *priced.order_by("opened_at")[:needed]}
    if len(sample) < needed:
        return None  # too few priced cases to bound anything: rank them all
    oldest = queryset.aggregate(oldest=Min("opened_at"))["oldest"]
    ranks = sorted(
        (float(amount) * (now - opened).total_seconds() for _, amount, opened in sample),
        reverse=True,
    )
    reach, longest = ranks[needed - 1], (now - oldest).total_seconds()
    if reach <= 0 or longest <= 0:
        return None
    # Rounded down a cent, so float error can only keep a case, never drop one.
    return (Decimal(reach / longest) - CENT).quantize(CENT, rounding=ROUND_FLOOR)


def default_statuses(params) -> bool:
    return not params.getlist("status")


def active(queryset: QuerySet) -> QuerySet:
    return queryset.filter(status__in=ACTIVE_STATUSES)


def counters(user_id: int | None) -> dict[str, int]:
    """The queue's headline counts.

    Four counts, each answered from a partial index alone (owner, snoozed, active), are
    twice as fast on PostgreSQL as one pass over every live case with four filters.
    """
    working = ExceptionCase.objects.filter(status__in=ACTIVE_STATUSES)
    return {
        "mine": working.filter(owner_id=user_id).count() if user_id else 0,
        "unassigned": working.filter(owner__isnull=True).count(),
        "snoozed": ExceptionCase.objects.filter(status=CaseStatus.SNOOZED).count(),
        "open": working.count(),
    }
