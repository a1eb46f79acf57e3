"""The queue's read side: cases ranked by the money they hold up and for how long."""

from datetime import datetime

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from .models import ACTIVE_STATUSES, LIVE_STATUSES, CaseStatus, ExceptionCase

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


def default_statuses(params) -> bool:
    return not params.getlist("status")


def active(queryset: QuerySet) -> QuerySet:
    return queryset.filter(status__in=ACTIVE_STATUSES)


def counters(user_id: int | None) -> dict[str, int]:
    """The queue's headline counts, in one pass over the live cases.

    Counting ``status`` rather than ``id`` lets PostgreSQL answer from the live-owner index
    (owner, status) alone instead of visiting every live row of the table.
    """
    live = ExceptionCase.objects.filter(status__in=LIVE_STATUSES)
    working = Q(status__in=ACTIVE_STATUSES)
    return live.aggregate(
        mine=Count("status", filter=working & Q(owner_id=user_id)),
        unassigned=Count("status", filter=working & Q(owner__isnull=True)),
        snoozed=Count("status", filter=Q(status=CaseStatus.SNOOZED)),
        open=Count("status", filter=working),
    )
