"""Keep facts and rollups up to date from the ledger's change feed.

``refresh()`` claims the transactions due in ``tracking``'s change feed, works out their
facts again (``dashboards.facts``), and where they differ from the stored ones replaces
them and recomputes only the buckets whose facts changed (dirty buckets): 5-minute rollups
from the facts, hours from the 5-minute rows, days from the hours. Each chunk is one
database transaction: a worker that dies mid-chunk leaves nothing half-done, and the chunk
is claimed again by the next run. Refreshes take turns (an advisory lock), so two workers
never recompute the same bucket at once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from tracking.bulk import insert, register_staging
from tracking.ledger import schedule
from tracking.models import ChangedTransaction, Event, Flow, Journey, Transaction

from . import calendars
from .facts import BUCKET, Policy, TxnView, derive
from .fx import Rates
from .models import Fact, RiskClock, Rollup, SlaPolicy
from .models.facts import DIMENSIONS
from .queries import floor

CHUNK = 2000
FIVE_MINUTES, HOUR, DAY = 300, 3600, 86400
LOCK_KEY = 0x0C2C_0001  # pg advisory lock: one refresh or rebuild at a time

_FACT_COLUMNS = ["transaction", "bucket", "measure", *DIMENSIONS, "count", "amount"]
_ROLLUP_COLUMNS = ["grain", "bucket", "measure", *DIMENSIONS, "count", "amount"]
_CLOCK_COLUMNS = ["transaction", *DIMENSIONS, "deadline", "close_deadline", "amount"]
register_staging(Fact, _FACT_COLUMNS)
register_staging(Rollup, _ROLLUP_COLUMNS)
register_staging(RiskClock, _CLOCK_COLUMNS)

_TXN_FIELDS = [
    "id",
    "journey_id",
    "flow_id",
    "region",
    "business_unit",
    "legal_entity",
    "amount",
    "currency",
    "status",
    "started_at",
    "completed_at",
    "stage_event_at",
    "next_deadline_at",
    "stage_times",
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


@dataclass
class RefreshResult:
    transactions: int = 0
    changed: int = 0
    buckets: int = 0
    chunks: int = 0
    skipped: bool = False
    dirty: set[datetime] = field(default_factory=set)


def _take_turn(wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite writers already take turns
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def refresh(
    now: datetime | None = None,
    chunk: int = CHUNK,
    progress: Callable[[RefreshResult], None] | None = None,
) -> RefreshResult:
    """Process every transaction due in the change feed; returns what was done."""
    now = now or timezone.now()
    context: Context | None = None  # loaded once there is work: beat runs this every minute
    result = RefreshResult()
    while True:
        with transaction.atomic():
            if not _take_turn(wait=False):
                result.skipped = True
                return result
            ids = _claim(now, chunk)
            if not ids:
                return result
            context = context or Context.load()
            changed, dirty = _process(ids, context, now)
            recompute(dirty)
        result.transactions += len(ids)
        result.changed += changed
        result.buckets += len(dirty)
        result.chunks += 1
        if progress:
            progress(result)


def _claim(now: datetime, chunk: int) -> list[int]:
    ids = list(
        ChangedTransaction.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .select_for_update(skip_locked=True)
        .values_list("transaction_id", flat=True)[:chunk]
    )
    if ids:
        ChangedTransaction.objects.filter(transaction_id__in=ids).delete()
    return ids


def _process(ids: list[int], context: Context, now: datetime) -> tuple[int, set[datetime]]:
    """Rebuild the facts and risk clocks of these transactions; the buckets that changed."""
    outcomes: dict[int, list[tuple[datetime, str]]] = {i: [] for i in ids}
    for txn_id, occurred_at, status in (
        Event.objects.filter(transaction_id__in=ids)
        .exclude(status="started")
        .values_list("transaction_id", "occurred_at", "status")
    ):
        outcomes[txn_id].append((occurred_at, status))
    old: dict[int, dict[tuple, tuple]] = {i: {} for i in ids}
    for txn_id, bucket, measure, *rest in Fact.objects.filter(transaction_id__in=ids).values_list(
        "transaction_id", "bucket", "measure", *DIMENSIONS, "count", "amount"
    ):
        old[txn_id][(bucket, measure, *rest[:-2])] = (rest[-2], rest[-1])

    new_facts: list[tuple] = []
    clocks: list[tuple] = []
    rechecks: list[tuple[int, datetime]] = []
    replaced: list[int] = []
    dirty: set[datetime] = set()
    found: set[int] = set()
    for row in Transaction.objects.filter(id__in=ids).values_list(*_TXN_FIELDS):
        values = dict(zip(_TXN_FIELDS, row, strict=True))
        txn_id = values["id"]
        found.add(txn_id)
        view = TxnView(
            id=txn_id,
            journey_id=values["journey_id"],
            journey=context.journeys.get(values["journey_id"], ""),
            flow=context.flows.get(values["flow_id"], ""),
            region=values["region"],
            business_unit=values["business_unit"],
            legal_entity=values["legal_entity"],
            amount=values["amount"],
            currency=values["currency"],
            status=values["status"],
            started_at=values["started_at"],
            completed_at=values["completed_at"],
            stage_event_at=values["stage_event_at"],
            next_deadline_at=values["next_deadline_at"],
            stage_times=values["stage_times"] or {},
        )
        derived = derive(
            view, outcomes[txn_id], context.policies, context.calendars, context.rates, now
        )
        current = {key: tuple(value) for key, value in derived.facts.items()}
        if current != old[txn_id]:
            replaced.append(txn_id)
            dirty |= {key[0] for key, _ in current.items() ^ old[txn_id].items()}
            new_facts.extend(
                (txn_id, key[0], key[1], *key[2:], count, amount)
                for key, (count, amount) in current.items()
            )
        if derived.deadline or derived.close_deadline:
            dims = (view.journey, view.flow, view.region, view.business_unit, view.legal_entity)
            clocks.append((txn_id, *dims, derived.deadline, derived.close_deadline, derived.amount))
        if derived.recheck_at:
            rechecks.append((txn_id, derived.recheck_at))
    # A transaction deleted meanwhile took its facts along (cascade): its buckets are dirty.
    for txn_id in set(ids) - found:
        dirty |= {key[0] for key in old[txn_id]}

    if replaced:
        Fact.objects.filter(transaction_id__in=replaced).delete()
        insert(Fact, _FACT_COLUMNS, new_facts)
    RiskClock.objects.filter(transaction_id__in=ids).delete()
    insert(RiskClock, _CLOCK_COLUMNS, clocks)
    schedule(rechecks)
    return len(replaced), dirty


def runs(buckets: Iterable[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Contiguous ranges [start, end) covering these bucket starts."""
    ranges: list[list[datetime]] = []
    for start in sorted(set(buckets)):
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = start + step
        else:
            ranges.append([start, start + step])
    return [(a, b) for a, b in ranges]


def recompute(dirty: set[datetime]) -> None:
    """Recompute the rollups of these 5-minute buckets, and of their hours and days."""
    if not dirty:
        return
    for start, end in runs(dirty, BUCKET):
        Rollup.objects.filter(grain=FIVE_MINUTES, bucket__gte=start, bucket__lt=end).delete()
        rows = (
            Fact.objects.filter(bucket__gte=start, bucket__lt=end)
            .values("bucket", "measure", *DIMENSIONS)
            .annotate(total=Sum("count"), money=Sum("amount"))
            .order_by()
            .values_list("bucket", "measure", *DIMENSIONS, "total", "money")
        )
        insert(Rollup, _ROLLUP_COLUMNS, [(FIVE_MINUTES, *row) for row in rows])
    for finer, grain, kind in ((FIVE_MINUTES, HOUR, "hour"), (HOUR, DAY, "day")):
        dirty = {floor(moment, grain) for moment in dirty}
        for start, end in runs(dirty, timedelta(seconds=grain)):
            Rollup.objects.filter(grain=grain, bucket__gte=start, bucket__lt=end).delete()
            rows = (
                Rollup.objects.filter(grain=finer, bucket__gte=start, bucket__lt=end)
                .annotate(parent=Trunc("bucket", kind, tzinfo=UTC))
                .values("parent", "measure", *DIMENSIONS)
                .annotate(total=Sum("count"), money=Sum("amount"))
                .order_by()
                .values_list("parent", "measure", *DIMENSIONS, "total", "money")
            )
            insert(Rollup, _ROLLUP_COLUMNS, [(grain, *row) for row in rows])


def _empty(model) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Deferred foreign-key checks queued earlier in the transaction must run first:
            # PostgreSQL refuses to truncate a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")
    else:
        model.objects.all().delete()


def rebuild(progress: Callable[[RefreshResult], None] | None = None) -> RefreshResult:
    """Recompute every fact and rollup from the ledger (after a backfill or a policy edit).

    Runs as one refresh over the whole ledger: every transaction is entered in the change
    feed, facts are rebuilt chunk by chunk, and the rollups are recomputed once at the end.
    If it is interrupted, run it again.
    """
    now = timezone.now()
    with transaction.atomic():
        _take_turn(wait=True)
        for model in (Rollup, Fact, RiskClock):
            _empty(model)
        table = ChangedTransaction._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (transaction_id, due_at) "  # noqa: S608
                f"SELECT id, %s FROM {Transaction._meta.db_table} WHERE true "
                "ON CONFLICT (transaction_id) DO UPDATE SET due_at = excluded.due_at",
                [now],
            )
    context = Context.load()
    result = RefreshResult()
    while True:
        with transaction.atomic():
            _take_turn(wait=True)
            ids = _claim(now, CHUNK)
            if not ids:
                break
            changed, dirty = _process(ids, context, now)
        result.transactions += len(ids)
        result.changed += changed
        result.dirty |= dirty
        result.chunks += 1
        if progress:
            progress(result)
    with transaction.atomic():
        _take_turn(wait=True)
        _empty(Rollup)
        recompute(result.dirty)
    result.buckets = len(result.dirty)
    return result
