"""The rollups: the sums of the facts per time bucket x dimensions x measure.

Five grains: 5-minute, hour and day rows of ``Rollup``, hour and day rows of ``CoarseRollup``
(without business unit and legal entity). A refresh (``dashboards.refresh``) appends what
changed to the pending rollups, which readers add to the rollups they read, so its figures
show as soon as it commits; ``fold_pending()`` then adds the pending differences to the
rollups of every grain and deletes them. Refreshes, folds and rebuilds take turns (an
advisory lock): two workers never add to the same rollups at once.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce, Trunc

from tracking.batch_sql import delete_by_keys, insert, pg_query, register_staging, upsert

from .models import CoarseRollup, Fact, PendingRollup, Rollup
from .models.facts import COARSE_DIMENSIONS, DIMENSIONS
from .queries import floor

FIVE_MINUTES, HOUR, DAY = 300, 3600, 86400
LOCK_KEY = 0x0C2C_0001  # pg advisory lock: one refresh, fold or rebuild at a time
FOLD_BATCH = 50_000  # pending rows folded per database transaction

ROLLUP_COLUMNS = ["grain", "bucket", "measure", *DIMENSIONS, "count", "amount"]
COARSE_COLUMNS = ["grain", "bucket", "measure", *COARSE_DIMENSIONS, "count", "amount"]
COLUMNS = {Rollup: ROLLUP_COLUMNS, CoarseRollup: COARSE_COLUMNS}
PENDING_COLUMNS = ["bucket", "measure", *DIMENSIONS, "count", "amount"]
register_staging(Rollup, ROLLUP_COLUMNS)
register_staging(CoarseRollup, COARSE_COLUMNS)
register_staging(PendingRollup, PENDING_COLUMNS)

Deltas = dict[tuple, list]  # (bucket, measure, *dimensions) -> [count, amount] to add


@dataclass
class RefreshResult:
    transactions: int = 0
    changed: int = 0
    chunks: int = 0
    skipped: bool = False
    dirty: set[datetime] = field(default_factory=set)  # 5-minute buckets whose rollups moved
    folded: int = 0  # pending rows added to the rollups
    contracts: int = 0  # contracts reconciled after the facts
    breaks_opened: int = 0
    breaks_cleared: int = 0

    @property
    def buckets(self) -> int:
        return len(self.dirty)


def take_turn(wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite writers already take turns
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def add(deltas: Deltas, key: tuple, count: int, amount: Decimal | None, sign: int = 1) -> None:
    held = deltas.setdefault(key, [0, Decimal(0)])
    held[0] += sign * count
    held[1] += sign * (amount or 0)


def subtract(deltas: Deltas, facts: dict[tuple, tuple]) -> None:
    for key, (count, amount, *_) in facts.items():
        add(deltas, key, count, amount, sign=-1)


def pend(deltas: Deltas) -> None:
    """Append differences to the pending rollups, where readers see them at once."""
    insert(
        PendingRollup,
        PENDING_COLUMNS,
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
            if not take_turn(wait=False):
                result.skipped = True
                return result
            rows = _take_pending(batch)
            if not rows:
                return result
            deltas: Deltas = {}
            for *key, count, amount in rows:
                add(deltas, tuple(key), count, amount)
            add_to_rollups(deltas)
        result.folded += len(rows)
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1


def _take_pending(batch: int) -> list[tuple]:
    table = PendingRollup._meta.db_table
    columns = ", ".join(
        connection.ops.quote_name(PendingRollup._meta.get_field(name).column)
        for name in PENDING_COLUMNS
    )
    if connection.vendor == "postgresql":
        return pg_query(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id "  # noqa: S608
            f"LIMIT %s) RETURNING {columns}",
            [batch],
        )
    taken = list(PendingRollup.objects.order_by("id").values_list("id", *PENDING_COLUMNS)[:batch])
    delete_by_keys(PendingRollup, "id", [row[0] for row in taken])
    return [row[1:] for row in taken]


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
        kept = len(COLUMNS[model]) - 4  # the measure and dimensions of the delta's key
        for (bucket, *rest), (count, amount) in deltas.items():
            add(merged, (floor(bucket, grain), *rest[:kept]), count, amount)
        _upsert_rollups(model, grain, merged)


def _upsert_rollups(model, grain: int, merged: Deltas) -> None:
    columns = COLUMNS[model]
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
        connection.ops.quote_name(model._meta.get_field(name).column) for name in COLUMNS[model]
    )
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # In bucket order: a window's rows then sit on few pages, which dashboards read.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT %s, * FROM ({sql}) AS grouped "  # noqa: S608
            "ORDER BY 1, 2",
            [grain, *params],
        )


def empty(model) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Deferred foreign-key checks queued earlier in the transaction must run first:
            # PostgreSQL refuses to truncate a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")
    else:
        model.objects.all().delete()
