"""Facts from the ledger's change feed: work out the changed transactions' facts again.

``refresh()`` claims the transactions due in ``tracking``'s change feed
(``tracking.feed``), derives their facts again (``dashboards.facts``) and, where they differ
from the stored ones, replaces them and appends the difference, per 5-minute bucket, to the
pending rollups (``dashboards.rollups``): the new figures show as soon as the chunk
commits. It costs what changed, not how many other facts share their buckets. Each chunk is
one database transaction: a worker that dies mid-chunk leaves nothing half-done, and the
chunk is claimed again by the next run.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tracking import feed
from tracking.batch_sql import delete_by_keys, insert, register_staging, rows_by_keys
from tracking.models import Event, Flow, Journey, Transaction, TransactionState

from . import calendars, freshness, rollups
from .facts import Derived, Policy, TxnView, derive
from .fx import Rates
from .models import Fact, RiskClock, SlaPolicy
from .models.facts import DIMENSIONS
from .reconciliation import feed as contract_feed
from .reconciliation.refresh import reconcile_due
from .rollups import Deltas, RefreshResult, add, subtract

CHUNK = 2000
FACT_COLUMNS = ["transaction", "bucket", "measure", *DIMENSIONS, "count", "amount"]
CLOCK_COLUMNS = ["transaction", *DIMENSIONS, "deadline", "close_deadline", "amount"]
register_staging(Fact, FACT_COLUMNS)
register_staging(RiskClock, CLOCK_COLUMNS)

TXN_FIELDS = [
    "id",
    "journey_id",
    "flow_id",
    "region",
    "business_unit",
    "legal_entity",
    "amount",
    "currency",
    "started_at",
    "completed_at",
    "stage_event_at",
    "next_deadline_at",
    "stage_times",
    "current_stage_id",
]


@dataclass
class Context:
    """Everything the fact rules read besides the transaction: loaded once per run."""

    policies: list[Policy]
    calendars: dict[str, calendars.Calendar]
    rates: Rates
    journeys: dict[int, str]
    flows: dict[int, str]

    @classmethod
    def load(cls) -> "Context":
        policies = [
            Policy(
                id=row.id,
                journey_id=row.journey_id,
                from_stage=row.from_stage.slug,
                to_stage=row.to_stage.slug,
                kind=row.kind,
                target=row.target,
                business_time=row.business_time,
                region=row.region,
                business_unit=row.business_unit,
                flow=row.flow,
                leakage=row.leakage,
            )
            for row in SlaPolicy.objects.filter(active=True).select_related(
                "from_stage", "to_stage"
            )
        ]
        return cls(
            policies=policies,
            calendars=calendars.load(),
            rates=Rates.load(),
            journeys=dict(Journey.objects.values_list("id", "slug")),
            flows=dict(Flow.objects.values_list("id", "slug")),
        )


def refresh(
    now: datetime | None = None,
    chunk: int = CHUNK,
    progress: Callable[[RefreshResult], None] | None = None,
    fold: bool = True,
    reconcile: bool = True,
) -> RefreshResult:
    """Process every transaction due in the change feed; returns what was done.

    The figures show each chunk's changes once it commits. With ``reconcile`` the contracts
    of the transactions processed are reconciled next, and with ``fold`` the pending
    differences are then added to the rollups (``fold_pending()``), as the every-minute
    task does.
    """
    now = now or timezone.now()
    context: Context | None = None  # loaded once there is work: beat runs this every minute
    result = RefreshResult()
    while True:
        with transaction.atomic():
            if not rollups.take_turn(wait=False):
                result.skipped = True
                return result
            ids = feed.claim(now, chunk)
            if not ids:
                break
            context = context or Context.load()
            changed, deltas = process(ids, context, now)
            rollups.pend(deltas)
            if deltas:
                freshness.bump()
        result.transactions += len(ids)
        result.changed += changed
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1
        if progress:
            progress(result)
    if reconcile:
        # The contracts of the transactions just processed, and those whose time came.
        reconciled = reconcile_due(now)
        result.contracts = reconciled.contracts
        result.breaks_opened, result.breaks_cleared = reconciled.opened, reconciled.cleared
    if fold:
        folded = rollups.fold_pending()
        result.folded = folded.folded
        result.skipped = folded.skipped
    return result


@dataclass
class _Rework:
    """What processing a chunk writes: facts in and out, risk clocks, rechecks, and the
    differences the rollups gain."""

    new_facts: list[tuple] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # ids of facts that changed or went away
    clocks: list[tuple] = field(default_factory=list)
    rechecks: list[tuple[int, datetime]] = field(default_factory=list)
    deltas: Deltas = field(default_factory=dict)
    changed: int = 0


def process(ids: list[int], context: Context, now: datetime) -> tuple[int, Deltas]:
    """Rebuild the facts and risk clocks of these transactions; how many changed, and what
    the rollups gain."""
    outcomes = _outcomes(ids)
    old = _stored_facts(ids)
    work = _Rework()
    found: set[int] = set()
    for view in _views(ids, context):
        found.add(view.id)
        derived = derive(
            view, outcomes[view.id], context.policies, context.calendars, context.rates, now
        )
        work.changed += _compare(view.id, derived, old[view.id], work)
        if derived.deadline or derived.close_deadline:
            dims = (view.journey, view.flow, view.region, view.business_unit, view.legal_entity)
            work.clocks.append(
                (view.id, *dims, derived.deadline, derived.close_deadline, derived.amount)
            )
        if derived.recheck_at:
            work.rechecks.append((view.id, derived.recheck_at))
    # A transaction deleted meanwhile took its facts along (cascade): take them out too.
    for txn_id in set(ids) - found:
        subtract(work.deltas, old[txn_id])
    _write(ids, work, now)
    return work.changed, {key: v for key, v in work.deltas.items() if v[0] or v[1]}


def _outcomes(ids: list[int]) -> dict[int, list[tuple[datetime, str]]]:
    """Each transaction's stage outcomes (succeeded or failed reports), as facts count them."""
    outcomes: dict[int, list[tuple[datetime, str]]] = {i: [] for i in ids}
    for txn_id, occurred_at, status in rows_by_keys(
        Event, "transaction", ids, ["transaction", "occurred_at", "status"]
    ):
        if status != "started":
            outcomes[txn_id].append((occurred_at, status))
    return outcomes


def _stored_facts(ids: list[int]) -> dict[int, dict[tuple, tuple]]:
    """Each transaction's stored facts: key -> (count, amount, fact id)."""
    old: dict[int, dict[tuple, tuple]] = {i: {} for i in ids}
    for txn_id, bucket, measure, *rest in rows_by_keys(
        Fact, "transaction", ids, [*FACT_COLUMNS, "id"]
    ):
        old[txn_id][(bucket, measure, *rest[:-3])] = tuple(rest[-3:])
    return old


def _views(ids: list[int], context: Context) -> list[TxnView]:
    """What the fact rules read of each transaction (the ones that still exist)."""
    statuses = dict(rows_by_keys(TransactionState, "transaction", ids, ["transaction", "status"]))
    views = []
    for row in rows_by_keys(Transaction, "id", ids, TXN_FIELDS):
        values = dict(zip(TXN_FIELDS, row, strict=True))
        views.append(
            TxnView(
                id=values["id"],
                journey_id=values["journey_id"],
                journey=context.journeys.get(values["journey_id"], ""),
                flow=context.flows.get(values["flow_id"], ""),
                region=values["region"],
                business_unit=values["business_unit"],
                legal_entity=values["legal_entity"],
                amount=values["amount"],
                currency=values["currency"],
                status=statuses.get(values["id"], "in_progress"),  # no state row: see ledger
                started_at=values["started_at"],
                completed_at=values["completed_at"],
                stage_event_at=values["stage_event_at"],
                next_deadline_at=values["next_deadline_at"],
                stage_times=values["stage_times"] or {},
                stage_id=values["current_stage_id"],
            )
        )
    return views


def _compare(txn_id: int, derived: Derived, before: dict[tuple, tuple], work: _Rework) -> bool:
    """Queue the facts that differ from the stored ones; whether any did.

    Only those are rewritten: most events move two or three of a transaction's facts.
    ``before`` is consumed: what is left in it are facts the transaction no longer has.
    """
    differs = False
    for key, (count, amount) in derived.facts.items():
        held = before.pop(key, None)
        if held is not None and held[0] == count and held[1] == amount:
            continue
        differs = True
        if held is not None:
            add(work.deltas, key, held[0], held[1], sign=-1)
            work.gone.append(held[2])
        add(work.deltas, key, count, amount)
        work.new_facts.append((txn_id, *key, count, amount))
    if before:
        differs = True
        subtract(work.deltas, before)
        work.gone.extend(held[2] for held in before.values())
    return differs


def _write(ids: list[int], work: _Rework, now: datetime) -> None:
    delete_by_keys(Fact, "id", work.gone)
    insert(Fact, FACT_COLUMNS, work.new_facts)
    delete_by_keys(RiskClock, "transaction", ids)
    insert(RiskClock, CLOCK_COLUMNS, work.clocks)
    # Their contracts are due to be reconciled again: a stage's amount or a version moved.
    contract_feed.enter_for(ids, now)
    # Figures that change by themselves later (a deadline passing) are worked out again then.
    feed.schedule(work.rechecks)
