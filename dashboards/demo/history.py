"""A month of revenue-at-risk history for the demo, rebuilt from the ledger's events.

Risk snapshots are taken every minute from the moment a worker runs, so a history loaded
at once would chart as a single bar. ``risk.snapshot()`` cannot be asked about the past: it
reads the ledger as it stands now. Instead each transaction's events are replayed in the
order they happened, with the ledger's own rules (``tracking.projection``), to learn when
it stood failed, stuck or due within a day; each past hour then gets the snapshot it would
have had. What this cannot rebuild: SLA breaches (``overdue``, ``leakage``), which need the
SLA clocks as they were; and a transaction's region, flow and amount are its current ones.
The snapshot of the present is the real one, so the chart's last step may show those.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from tracking import journeys
from tracking.models import Event, Flow, Journey, Transaction
from tracking.projection import STATUS_RANK, LedgerState, next_deadline
from tracking.timefmt import iso

from .. import freshness
from ..fx import Rates
from ..models import RiskSnapshot, RiskSnapshotTaken
from ..models.risk import RiskAge, RiskReason
from ..risk import SOON, age_of

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Spell:
    """A stretch of time a transaction stood at risk (or due soon) for one reason."""

    start: datetime
    end: datetime
    reason: str
    since: datetime | None


def spells(events: list[tuple], info: journeys.JourneyInfo, until: datetime) -> list[Spell]:
    """When one transaction stood failed, stuck or due soon, from its events.

    ``events``: (stage_id, status, occurred_at, event_id), oldest first. Between two events
    the transaction stands as the first left it, except that a deadline may pass meanwhile.
    """
    state = LedgerState(correlation_id="", journey_id=info.id)
    found: list[Spell] = []
    for index, (stage_id, status, occurred_at, event_id) in enumerate(events):
        stage = info.stage_by_id(stage_id)
        if stage is None:
            continue
        key = (stage.position, STATUS_RANK[status], occurred_at, event_id)
        if state.top_key() is None or key > state.top_key():
            state.stage_position, state.stage_status = stage.position, status
            state.stage_event_at, state.stage_event_id = occurred_at, event_id
        if state.started_at is None or occurred_at < state.started_at:
            state.started_at = occurred_at
        if status == "succeeded":
            stamp = iso(occurred_at)
            known = state.stage_times.get(stage.slug)
            state.stage_times[stage.slug] = min(known, stamp) if known else stamp
        end = events[index + 1][2] if index + 1 < len(events) else until
        if end <= occurred_at:
            continue
        if state.stage_status == "succeeded" and state.stage_position == info.last_position:
            continue  # completed: nothing more at risk
        if state.stage_status == "failed":
            found.append(Spell(occurred_at, end, RiskReason.FAILED, state.stage_event_at))
            continue
        deadline = next_deadline(state, info)
        if deadline is None:
            continue
        soon = Spell(max(occurred_at, deadline - SOON), min(end, deadline), RiskReason.SOON, None)
        found.append(soon)
        found.append(Spell(max(occurred_at, deadline), end, RiskReason.STUCK, deadline))
    return [s for s in found if s.start < s.end]


def rebuild(start: datetime, end: datetime) -> int:
    """Write an hourly snapshot for every hour from ``start`` to ``end`` that has none;
    returns how many were written."""
    first = start.replace(minute=0, second=0, microsecond=0) + HOUR
    hours = []
    moment = first
    while moment < end:
        hours.append(moment)
        moment += HOUR
    taken = set(
        RiskSnapshotTaken.objects.filter(taken_at__gte=first, taken_at__lt=end).values_list(
            "taken_at", flat=True
        )
    )
    taken_hours = {t.replace(minute=0, second=0, microsecond=0) for t in taken}
    wanted = {h for h in hours if h not in taken_hours}
    if not wanted:
        return 0
    cells = _cells(hours, wanted, end)
    rows, marks = [], []
    for hour in sorted(wanted):
        marks.append(RiskSnapshotTaken(taken_at=hour, hourly=True))
        found = cells.get(hour, {})
        for (journey, flow, region, unit, entity, reason, age), (count, amount) in found.items():
            rows.append(
                RiskSnapshot(
                    taken_at=hour,
                    hourly=True,
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
            )
        if not found:
            # As risk.snapshot() marks an empty one: "nothing at risk then", not "no data".
            rows.append(
                RiskSnapshot(
                    taken_at=hour,
                    hourly=True,
                    journey="",
                    reason=RiskReason.SOON,
                    age=RiskAge.UNDER_1D,
                    count=0,
                    amount=Decimal(0),
                )
            )
    with transaction.atomic():
        RiskSnapshotTaken.objects.bulk_create(marks, batch_size=2000)
        RiskSnapshot.objects.bulk_create(rows, batch_size=2000)
        freshness.bump()
    return len(marks)


def _cells(hours: list[datetime], wanted: set[datetime], until: datetime) -> dict:
    """hour -> (journey, flow, region, unit, entity, reason, age) -> [count, amount]."""
    rates = Rates.load()
    journey_slugs = dict(Journey.objects.values_list("id", "slug"))
    flow_slugs = dict(Flow.objects.values_list("id", "slug"))
    txns = {
        row[0]: row[1:]
        for row in Transaction.objects.values_list(
            "id",
            "journey_id",
            "flow_id",
            "region",
            "business_unit",
            "legal_entity",
            "amount",
            "currency",
        )
    }
    by_txn: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        Event.objects.filter(occurred_at__lt=until)
        .order_by("transaction_id", "occurred_at", "id")
        .values_list("transaction_id", "stage_id", "status", "occurred_at", "event_id")
    )
    for txn_id, *event in rows.iterator(chunk_size=5000):
        by_txn[txn_id].append(tuple(event))
    first = hours[0]
    cells: dict[datetime, dict] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    day_rates: dict[tuple, Decimal | None] = {}
    for txn_id, events in by_txn.items():
        if txn_id not in txns:
            continue
        journey_id, flow_id, region, unit, entity, amount, currency = txns[txn_id]
        info = journeys.by_id(journey_id)
        if info is None:
            continue
        dims = (journey_slugs.get(journey_id, ""), flow_slugs.get(flow_id, ""), region, unit)
        dims = (*dims, entity)
        for spell in spells(events, info, until):
            # The hours whose moment falls inside the spell: [start, end).
            index = max(0, -(-(spell.start - first) // HOUR))
            while index < len(hours) and hours[index] < spell.end:
                hour = hours[index]
                index += 1
                if hour not in wanted:
                    continue
                age = RiskAge.UNDER_1D if spell.since is None else age_of(spell.since, hour)
                cell = cells[hour][(*dims, spell.reason, age)]
                cell[0] += 1
                key = (currency, hour.date())
                if key not in day_rates:
                    day_rates[key] = rates.rate(currency, hour.date())
                rate = day_rates[key]
                if amount is not None and rate is not None:
                    cell[1] += (amount * rate).quantize(Decimal("0.01"))
    return cells
