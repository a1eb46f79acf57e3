"""Keep facts and rollups up to date from the ledger's change feed.

``refresh()`` claims the transactions due in ``tracking``'s change feed, works out their
facts again (``dashboards.facts``) and, where they differ from the stored ones, replaces
them and appends the difference, per 5-minute bucket, to the pending rollups
(``PendingRollup``), which readers add to the rollups they read: the new figures show as
soon as the chunk commits. ``fold_pending()`` then adds the pending differences to the
rollup rows of the buckets concerned (the dirty buckets), at the 5-minute, hour and day
grains alike, and deletes them. Both cost what changed, not how many other facts share
their buckets. Each chunk is one database transaction: a worker that dies mid-chunk
leaves nothing half-done, and the chunk is claimed again by the next run. Refreshes and
folds take turns (an advisory lock): two workers never add to the same rollups at once.
``rebuild()`` recomputes everything from the ledger.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from tracking.bulk import delete_by_keys, insert, pg_query, register_staging, rows_by_keys, upsert
from tracking.ledger import schedule
from tracking.models import ChangedTransaction, Event, Flow, Journey, Transaction, TransactionState

from . import calendars, freshness
from .facts import Policy, TxnView, derive
from .fx import Rates
from .models import CoarseRollup, Fact, PendingRollup, RiskClock, Rollup, SlaPolicy
from .models.facts import COARSE_DIMENSIONS, DIMENSIONS
from .queries import floor

CHUNK = 2000
FIVE_MINUTES, HOUR, DAY = 300, 3600, 86400
LOCK_KEY = 0x0C2C_0001  # pg advisory lock: one refresh or rebuild at a time

_FACT_COLUMNS = ["transaction", "bucket", "measure", *DIMENSIONS, "count", "amount"]
_ROLLUP_COLUMNS = ["grain", "bucket", "measure", *DIMENSIONS, "count", "amount"]
_COARSE_COLUMNS = ["grain", "bucket", "measure", *COARSE_DIMENSIONS, "count", "amount"]
_CLOCK_COLUMNS = ["transaction", *DIMENSIONS, "deadline", "close_deadline", "amount"]
register_staging(Fact, _FACT_COLUMNS)
register_staging(Rollup, _ROLLUP_COLUMNS)
register_staging(CoarseRollup, _COARSE_COLUMNS)
_COLUMNS = {Rollup: _ROLLUP_COLUMNS, CoarseRollup: _COARSE_COLUMNS}
register_staging(RiskClock, _CLOCK_COLUMNS)
_PENDING_COLUMNS = ["bucket", "measure", *DIMENSIONS, "count", "amount"]
register_staging(PendingRollup, _PENDING_COLUMNS)
FOLD_BATCH = 50_000  # pending rows folded per database transaction

_TXN_FIELDS = [
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


Deltas = dict[tuple, list]  # (bucket, measure, *dimensions) -> [count, amount] to add


@dataclass
class RefreshResult:
    transactions: int = 0
    changed: int = 0
    chunks: int = 0
    skipped: bool = False
    dirty: set[datetime] = field(default_factory=set)  # 5-minute buckets whose rollups moved
    folded: int = 0  # pending rows added to the rollups

    @property
    def buckets(self) -> int:
        return len(self.dirty)


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
    fold: bool = True,
) -> RefreshResult:
    """Process every transaction due in the change feed; returns what was done.

    The figures show each chunk's changes once it commits. With ``fold`` the pending
    differences are then added to the rollups (``fold_pending()``), as the every-minute
    task does.
    """
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
                break
            context = context or Context.load()
            changed, deltas = _process(ids, context, now)
            _pend(deltas)
            if deltas:
                freshness.bump()
        result.transactions += len(ids)
        result.changed += changed
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1
        if progress:
            progress(result)
    if fold:
        folded = fold_pending()
        result.folded = folded.folded
        result.skipped = folded.skipped
    return result


def _pend(deltas: Deltas) -> None:
    insert(
        PendingRollup,
        _PENDING_COLUMNS,
        [(*key, count, amount) for key, (count, amount) in deltas.items()],
    )


def fold_pending(batch: int = FOLD_BATCH) -> RefreshResult:
    """Add the pending differences to the rollups, oldest first, and delete them.

    The figures do not change (readers already added the pending rows), so cached answers
    stay valid. A fold that dies mid-batch leaves the batch pending for the next one.
    """
    result = RefreshResult()
    while True:
        with transaction.atomic():
            if not _take_turn(wait=False):
                result.skipped = True
                return result
            rows = _take_pending(batch)
            if not rows:
                return result
            deltas: Deltas = {}
            for *key, count, amount in rows:
                _add(deltas, tuple(key), count, amount)
            add_to_rollups(deltas)
        result.folded += len(rows)
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1


def _take_pending(batch: int) -> list[tuple]:
    table = PendingRollup._meta.db_table
    columns = ", ".join(
        connection.ops.quote_name(PendingRollup._meta.get_field(name).column)
        for name in _PENDING_COLUMNS
    )
    if connection.vendor == "postgresql":
        return pg_query(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id "  # noqa: S608
            f"LIMIT %s) RETURNING {columns}",
            [batch],
        )
    taken = list(PendingRollup.objects.order_by("id").values_list("id", *_PENDING_COLUMNS)[:batch])
    delete_by_keys(PendingRollup, "id", [row[0] for row in taken])
    return [row[1:] for row in taken]


def _claim(now: datetime, chunk: int) -> list[int]:
    """Take up to ``chunk`` due entries off the feed; rows another worker holds are skipped."""
    if connection.vendor == "postgresql":
        table = ChangedTransaction._meta.db_table
        return [
            row[0]
            for row in pg_query(
                f"DELETE FROM {table} WHERE transaction_id IN ("  # noqa: S608
                f"SELECT transaction_id FROM {table} WHERE due_at <= %s ORDER BY due_at "
                "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING transaction_id",
                [now, chunk],
            )
        ]
    ids = list(
        ChangedTransaction.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("transaction_id", flat=True)[:chunk]
    )
    delete_by_keys(ChangedTransaction, "transaction", ids)
    return ids


def _add(deltas: Deltas, key: tuple, count: int, amount: Decimal | None, sign: int = 1) -> None:
    held = deltas.setdefault(key, [0, Decimal(0)])
    held[0] += sign * count
    held[1] += sign * (amount or 0)


def _subtract(deltas: Deltas, facts: dict[tuple, tuple]) -> None:
    for key, (count, amount, *_) in facts.items():
        _add(deltas, key, count, amount, sign=-1)


def _process(ids: list[int], context: Context, now: datetime) -> tuple[int, Deltas]:
    """Rebuild the facts and risk clocks of these transactions; what the rollups gain."""
    outcomes: dict[int, list[tuple[datetime, str]]] = {i: [] for i in ids}
    for txn_id, occurred_at, status in rows_by_keys(
        Event, "transaction", ids, ["transaction", "occurred_at", "status"]
    ):
        if status != "started":
            outcomes[txn_id].append((occurred_at, status))
    old: dict[int, dict[tuple, tuple]] = {i: {} for i in ids}  # key -> (count, amount, id)
    for txn_id, bucket, measure, *rest in rows_by_keys(
        Fact, "transaction", ids, [*_FACT_COLUMNS, "id"]
    ):
        old[txn_id][(bucket, measure, *rest[:-3])] = tuple(rest[-3:])

    new_facts: list[tuple] = []
    clocks: list[tuple] = []
    rechecks: list[tuple[int, datetime]] = []
    gone: list[int] = []  # ids of facts that changed or went away
    changed = 0
    deltas: Deltas = {}
    found: set[int] = set()
    statuses = dict(rows_by_keys(TransactionState, "transaction", ids, ["transaction", "status"]))
    for row in rows_by_keys(Transaction, "id", ids, _TXN_FIELDS):
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
            status=statuses.get(txn_id, "in_progress"),  # no state row: see ledger
            started_at=values["started_at"],
            completed_at=values["completed_at"],
            stage_event_at=values["stage_event_at"],
            next_deadline_at=values["next_deadline_at"],
            stage_times=values["stage_times"] or {},
            stage_id=values["current_stage_id"],
        )
        derived = derive(
            view, outcomes[txn_id], context.policies, context.calendars, context.rates, now
        )
        # Only the facts that differ are rewritten: most events move two or three of them.
        before = old[txn_id]
        differs = False
        for key, (count, amount) in derived.facts.items():
            held = before.pop(key, None)
            if held is not None and held[0] == count and held[1] == amount:
                continue
            differs = True
            if held is not None:
                _add(deltas, key, held[0], held[1], sign=-1)
                gone.append(held[2])
            _add(deltas, key, count, amount)
            new_facts.append((txn_id, *key, count, amount))
        if before:  # facts it no longer has
            differs = True
            _subtract(deltas, before)
            gone.extend(held[2] for held in before.values())
        changed += differs
        if derived.deadline or derived.close_deadline:
            dims = (view.journey, view.flow, view.region, view.business_unit, view.legal_entity)
            clocks.append((txn_id, *dims, derived.deadline, derived.close_deadline, derived.amount))
        if derived.recheck_at:
            rechecks.append((txn_id, derived.recheck_at))
    # A transaction deleted meanwhile took its facts along (cascade): take them out too.
    for txn_id in set(ids) - found:
        _subtract(deltas, old[txn_id])

    delete_by_keys(Fact, "id", gone)
    insert(Fact, _FACT_COLUMNS, new_facts)
    delete_by_keys(RiskClock, "transaction", ids)
    insert(RiskClock, _CLOCK_COLUMNS, clocks)
    schedule(rechecks)
    return changed, {key: v for key, v in deltas.items() if v[0] or v[1]}


def add_to_rollups(deltas: Deltas) -> None:
    """Add these differences to the rollups of their 5-minute buckets, hours and days, and
    to the coarse hour and day rollups (without business unit and legal entity)."""
    for model, grain in (
        (Rollup, FIVE_MINUTES),
        (Rollup, HOUR),
        (Rollup, DAY),
        (CoarseRollup, HOUR),
        (CoarseRollup, DAY),
    ):
        merged: Deltas = {}
        kept = len(_COLUMNS[model]) - 4  # the measure and dimensions of the delta's key
        for (bucket, *rest), (count, amount) in deltas.items():
            _add(merged, (floor(bucket, grain), *rest[:kept]), count, amount)
        _upsert_rollups(model, grain, merged)


def _upsert_rollups(model, grain: int, merged: Deltas) -> None:
    columns = _COLUMNS[model]
    written = upsert(
        model,
        columns,
        # In key order, so the probes walk the unique index instead of jumping about;
        # a fact that moved within an hour or a day changes nothing there.
        [
            (grain, *key, count, amount)
            for key, (count, amount) in sorted(merged.items())
            if count or amount
        ],
        conflict=columns[:-2],
        accumulate=["count", "amount"],
        returning=["id", "count"],
    )
    # A key whose last fact went away leaves nothing behind.
    delete_by_keys(model, "id", [row_id for row_id, count in written if count == 0])


def aggregate_all() -> None:
    """Every rollup from the facts, into empty rollups: 5-minute rows, hours, then days,
    then the coarse hours and days from the fine ones."""
    rows = (
        Fact.objects.values("bucket", "measure", *DIMENSIONS)
        .annotate(total=Sum("count"), money=Coalesce(Sum("amount"), Decimal(0)))
        .order_by()
        .values_list("bucket", "measure", *DIMENSIONS, "total", "money")
    )
    _insert_select(Rollup, FIVE_MINUTES, rows)
    for finer, grain, kind in ((FIVE_MINUTES, HOUR, "hour"), (HOUR, DAY, "day")):
        rows = (
            Rollup.objects.filter(grain=finer)
            .annotate(parent=Trunc("bucket", kind, tzinfo=UTC))
            .values("parent", "measure", *DIMENSIONS)
            .annotate(total=Sum("count"), money=Sum("amount"))
            .order_by()
            .values_list("parent", "measure", *DIMENSIONS, "total", "money")
        )
        _insert_select(Rollup, grain, rows)
    for grain in (HOUR, DAY):
        rows = (
            Rollup.objects.filter(grain=grain)
            .values("bucket", "measure", *COARSE_DIMENSIONS)
            .annotate(total=Sum("count"), money=Sum("amount"))
            .order_by()
            .values_list("bucket", "measure", *COARSE_DIMENSIONS, "total", "money")
        )
        _insert_select(CoarseRollup, grain, rows)


def _insert_select(model, grain: int, rows) -> None:
    """INSERT ... SELECT inside the database: the rows never travel through Python."""
    sql, params = rows.query.sql_with_params()
    columns = ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in _COLUMNS[model]
    )
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # In bucket order: a window's rows then sit on few pages, which dashboards read.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT %s, * FROM ({sql}) AS grouped "  # noqa: S608
            "ORDER BY 1, 2",
            [grain, *params],
        )


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
        for model in (Rollup, CoarseRollup, PendingRollup, Fact, RiskClock):
            _empty(model)
        table = ChangedTransaction._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (transaction_id, due_at) "  # noqa: S608
                f"SELECT id, %s FROM {Transaction._meta.db_table} WHERE true "
                "ON CONFLICT (transaction_id) DO UPDATE SET due_at = excluded.due_at",
                # SQLite compares stored text: the value must be in the ORM's own format.
                [connection.ops.adapt_datetimefield_value(now)],
            )
    context = Context.load()
    result = RefreshResult()
    while True:
        with transaction.atomic():
            _take_turn(wait=True)
            ids = _claim(now, CHUNK)
            if not ids:
                break
            changed, deltas = _process(ids, context, now)
        result.transactions += len(ids)
        result.changed += changed
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1
        if progress:
            progress(result)
    with transaction.atomic():
        _take_turn(wait=True)
        # Refreshes between the chunks above appended differences the facts already hold.
        for model in (Rollup, CoarseRollup, PendingRollup):
            _empty(model)
        aggregate_all()
        freshness.bump()
    _tidy_after_rebuild()
    return result


def _tidy_after_rebuild() -> None:
    """Vacuum what the rebuild rewrote: the feed it filled and emptied again holds a dead
    row per transaction, which the every-minute claim would otherwise wade through until
    autovacuum came by, and the planner needs statistics of the new facts and rollups."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # VACUUM cannot run inside a transaction (a test's, say)
    with connection.cursor() as cursor:
        for model in (ChangedTransaction, Fact, Rollup, CoarseRollup, PendingRollup, RiskClock):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
