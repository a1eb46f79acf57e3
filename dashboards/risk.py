"""Revenue at risk: how much money is held up right now, why, and for how long.

A transaction counts once, under the first reason that holds: ``failed`` (its current
stage failed), ``stuck`` (past its next-stage deadline with no news), ``leakage`` (billable
work past the month-close cut-off without an invoice: an open breach of a leakage policy),
``overdue`` (an open breach of any other SLA policy). ``soon``: not at risk yet, but a stage
or SLA deadline falls within the next 24 hours. Ages count from when the reason began.

Taken every minute into ``RiskSnapshot``, so pages and the summary read a few hundred rows
instead of the ledger; snapshots older than ``MINUTE_HISTORY`` are thinned to one an hour.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, CharField, Count, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from tracking.models import Flow, Journey, Transaction, TransactionStatus

from . import freshness
from .fx import Rates
from .models import RiskClock, RiskSnapshot, RiskSnapshotTaken
from .models.risk import RiskAge, RiskReason

SOON = timedelta(hours=24)
MINUTE_HISTORY = timedelta(hours=6)
HISTORY = timedelta(days=400)
_DIMS = ("region", "business_unit", "legal_entity")


# Age buckets: younger than each limit, else the last.
AGES = (
    (timedelta(days=1), RiskAge.UNDER_1D),
    (timedelta(days=3), RiskAge.D1_3),
    (timedelta(days=7), RiskAge.D3_7),
)


def age_of(since: datetime | None, now: datetime) -> str:
    if since is None:
        return RiskAge.UNDER_1D
    return next((age for limit, age in AGES if now - since < limit), RiskAge.OVER_7D)


def _age_case(since_field: str, now: datetime) -> Case:
    """``age_of`` in SQL, so the ledger is grouped by age without reading each row."""
    return Case(
        *(When(**{f"{since_field}__gt": now - limit}, then=Value(age)) for limit, age in AGES),
        default=Value(RiskAge.OVER_7D),
        output_field=CharField(),
    )


def assess(now: datetime, among: QuerySet | None = None) -> dict[tuple, list]:
    """(journey, flow, region, unit, entity, reason, age) -> [count, amount], as of now.

    ``among``: only these transactions (a list that a figure drills into totals itself
    with the same arithmetic, so its total equals the figure to the cent).
    """
    rates = Rates.load()
    ledger = Transaction.objects.all() if among is None else among.order_by()
    within = Q() if among is None else Q(transaction__in=among.order_by().values("pk"))
    journeys = dict(Journey.objects.values_list("id", "slug"))
    flows = dict(Flow.objects.values_list("id", "slug"))
    cells: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])

    def add(dims: tuple, reason: str, age: str, count: int, amount) -> None:
        cell = cells[(*dims, reason, age)]
        cell[0] += count
        if amount is not None:
            cell[1] += amount

    # Failed and stuck: straight from the ledger (status index), summed per currency.
    for status, since_field in (("failed", "stage_event_at"), ("stuck", "next_deadline_at")):
        rows = (
            ledger.filter(state__status=status)
            .annotate(age=_age_case(since_field, now))
            .values("journey_id", "flow_id", *_DIMS, "currency", "age")
            .annotate(n=Count("id"), money=Sum("amount"))
            .order_by()
        )
        for row in rows:
            dims = (
                journeys.get(row["journey_id"], ""),
                flows.get(row["flow_id"], ""),
                *(row[name] for name in _DIMS),
            )
            amount = rates.convert(row["money"], row["currency"], now.date())
            add(dims, status, row["age"], row["n"], amount)

    # Open SLA breaches of transactions still moving; amounts already converted.
    at_risk: set[int] = set()
    clocks = RiskClock.objects.filter(
        Q(deadline__lte=now + SOON) | Q(close_deadline__lte=now + SOON),
        within,
        transaction__state__status=TransactionStatus.IN_PROGRESS,
    ).values_list(
        "transaction_id", "journey", "flow", *_DIMS, "deadline", "close_deadline", "amount"
    )
    soon: dict[int, tuple] = {}
    for txn_id, *dims, deadline, close, amount in clocks:
        if close is not None and close <= now:
            add(tuple(dims), RiskReason.LEAKAGE, age_of(close, now), 1, amount)
            at_risk.add(txn_id)
        elif deadline is not None and deadline <= now:
            add(tuple(dims), RiskReason.OVERDUE, age_of(deadline, now), 1, amount)
            at_risk.add(txn_id)
        else:
            soon[txn_id] = (tuple(dims), amount)

    # Stage deadlines within a day (the moving-deadline index), unless already at risk.
    moving = ledger.filter(
        state__status=TransactionStatus.IN_PROGRESS,
        state__next_deadline_at__gt=now,
        state__next_deadline_at__lte=now + SOON,
    ).values_list("id", "journey_id", "flow_id", *_DIMS, "amount", "currency")
    for txn_id, journey_id, flow_id, region, unit, entity, amount, currency in moving:
        if txn_id in at_risk or txn_id in soon:
            continue
        dims = (journeys.get(journey_id, ""), flows.get(flow_id, ""), region, unit, entity)
        soon[txn_id] = (dims, rates.convert(amount, currency, now.date()))
    for dims, amount in soon.values():
        add(dims, RiskReason.SOON, RiskAge.UNDER_1D, 1, amount)
    return cells


def snapshot(now: datetime | None = None) -> int:
    """Take a snapshot of revenue at risk; returns the number of rows written."""
    now = now or timezone.now()
    cells = assess(now)
    hour = now.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        freshness.bump()
        # Which snapshots to thin, from one row each: filtering the snapshots' own rows by
        # ``hourly`` would walk the whole kept history (400 days of it) every minute.
        thinned = RiskSnapshotTaken.objects.filter(
            Q(taken_at__lt=now - MINUTE_HISTORY, hourly=False) | Q(taken_at__lt=now - HISTORY)
        )
        moments = list(thinned.values_list("taken_at", flat=True))
        RiskSnapshot.objects.filter(taken_at__in=moments).delete()
        thinned.delete()
        # The first snapshot of each hour is kept for the long history.
        hourly = not RiskSnapshotTaken.objects.filter(
            taken_at__gte=hour, taken_at__lt=hour + timedelta(hours=1), hourly=True
        ).exists()
        RiskSnapshotTaken.objects.create(taken_at=now, hourly=hourly)
        RiskSnapshot.objects.bulk_create(
            RiskSnapshot(
                taken_at=now,
                hourly=hourly,
                journey=journey,
                flow=flow,
                region=region,
                business_unit=unit,
                legal_entity=entity,
                reason=reason,
                age=age,
                count=count,
                amount=amount,
            )
            for (journey, flow, region, unit, entity, reason, age), (count, amount) in cells.items()
        )
        if not cells:
            # An empty snapshot still says "nothing at risk now": one zero row marks it.
            RiskSnapshot.objects.create(
                taken_at=now,
                hourly=hourly,
                journey="",
                reason="soon",
                age="lt_1d",
                count=0,
                amount=Decimal(0),
            )
    return len(cells)
