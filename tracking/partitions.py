"""The span table's daily partitions on PostgreSQL: list them, create them ahead, drop old ones.

``tracking_span`` is partitioned by range of ``start_time`` (docs/scaling.md, "Span
partitions and retention"): one partition per UTC day, ``tracking_span_pYYYYMMDD``, a
DEFAULT partition for a span no day holds, and after the conversion of an existing table
one ``tracking_span_legacy`` partition holding every span stored before it. SQLite keeps a
plain table: nothing here applies to it.
"""

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import OperationalError, connection, transaction

PARENT = "tracking_span"
DEFAULT = "tracking_span_default"
DAY = timedelta(days=1)
# Waits for a table lock at most this long, then gives up (and is retried): a DDL statement
# queued behind a long read would otherwise hold up every ingest and read queued behind it.
LOCK_TIMEOUT = "5s"
ATTEMPTS = 3
# One lock key for every session that creates or drops span partitions.
_ADVISORY_KEY = "tracking_span partitions"
_BOUND = re.compile(r"FROM \((.+?)\) TO \((.+?)\)")


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime | None  # None: MINVALUE (the legacy partition) or the DEFAULT partition
    upper: datetime | None
    is_default: bool
    rows_estimate: int | None  # None until the partition is first analysed
    bytes: int


def partitioned() -> bool:
    """Whether the span table is a partitioned table here (PostgreSQL after migration 0012)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def day_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def partition_name(day: datetime) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def _bound(text: str) -> datetime | None:
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    # PostgreSQL writes the literal in the session's time zone, with an offset: '...+00'.
    value = text.strip("'")
    if re.search(r"[+-]\d\d$", value):
        value += ":00"
    return datetime.fromisoformat(value).astimezone(UTC)


def partitions() -> list[Partition]:
    """The span table's partitions, oldest first, the DEFAULT partition last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, "
            "pg_total_relation_size(c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound, tuples, size in rows:
        estimate = None if tuples < 0 else tuples
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, True, estimate, size))
            continue
        match = _BOUND.search(bound)
        if match is None:  # pragma: no cover - the table is range-partitioned
            raise ValueError(f"unexpected partition bound of {name}: {bound}")
        lower, upper = (_bound(value) for value in match.groups())
        found.append(Partition(name, lower, upper, False, estimate, size))
    early = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.is_default, p.lower or early))


def _covered(existing: list[Partition], lower: datetime, upper: datetime) -> bool:
    """Whether any ranged partition overlaps [lower, upper): that day cannot have its own."""
    for p in existing:
        if p.is_default:
            continue
        if (p.lower is None or p.lower < upper) and (p.upper is None or lower < p.upper):
            return True
    return False


def _with_retries(work):
    """Run ``work`` in its own transaction under the partitions' advisory lock, retrying a
    lock wait that timed out (a long read holding the table) a few times."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_ADVISORY_KEY])
                return work(cursor)
        except OperationalError as exc:
            if "lock timeout" not in str(exc) or attempt == ATTEMPTS:
                raise
            time.sleep(attempt)
    return None  # pragma: no cover


def _create_day(cursor, day: datetime) -> str | None:
    """Create the partition of ``day``, moving into it any of its spans the DEFAULT partition
    took meanwhile (PostgreSQL refuses a new range that rows in the default belong to).

    The new table is attached rather than created ``PARTITION OF``: attaching locks the
    parent only in SHARE UPDATE EXCLUSIVE mode (reads and writes go on), and the DEFAULT
    partition, kept small, in ACCESS EXCLUSIVE for the moment its rows are checked.
    """
    upper = day + DAY
    if _covered(partitions(), day, upper):
        return None  # made by another session meanwhile
    name = partition_name(day)
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    if _default_exists(cursor):
        cursor.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE start_time >= %s AND start_time < %s "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [day, upper],
        )
    cursor.execute(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [day.isoformat(), upper.isoformat()],
    )
    return name


def _default_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT])
    return cursor.fetchone()[0]


def ensure(ahead_days: int, since: datetime | None = None, now: datetime | None = None) -> list:
    """Create the daily partitions from ``since``'s day (default: yesterday, for late spans)
    to ``ahead_days`` days after today, those missing only; return the names created."""
    if not partitioned():
        return []
    today = day_start(now or datetime.now(UTC))
    day = day_start(since) if since else today - DAY
    created = []
    while day <= today + ahead_days * DAY:
        if not _covered(partitions(), day, day + DAY):
            name = _with_retries(lambda cursor, day=day: _create_day(cursor, day))
            if name:
                created.append(name)
        day += DAY
    return created


def drop_older_than(cutoff: datetime, dry_run: bool = False) -> list[Partition]:
    """Drop the partitions whose every span started before ``cutoff``; return them.

    ``DROP TABLE`` of a partition takes the parent's ACCESS EXCLUSIVE lock for a moment (a
    catalog change, no row is read), hence the short lock timeout and retries.
    """
    if not partitioned():
        return []
    doomed = [p for p in partitions() if not p.is_default and p.upper and p.upper <= cutoff]
    if dry_run:
        return doomed
    dropped = []
    for p in doomed:

        def drop(cursor, p=p):
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [p.name])
            if cursor.fetchone()[0]:
                # Deferred foreign-key checks of rows written earlier in the same database
                # transaction (only a caller's outer one has any) would block the drop.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"DROP TABLE {p.name}")
                return p
            return None

        if _with_retries(drop):
            dropped.append(p)
    return dropped


def purge_default(cutoff: datetime, batch: int = 10_000) -> int:
    """Delete from the DEFAULT partition the spans that started before ``cutoff``, in
    batches. The default only holds what no day partition covers (a span older than the
    oldest partition, or one beyond those made ahead), so it stays small."""
    if not partitioned():
        return 0
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {DEFAULT} WHERE ctid = ANY(ARRAY("  # noqa: S608
                f"SELECT ctid FROM {DEFAULT} WHERE start_time < %s LIMIT %s))",
                [cutoff, batch],
            )
            deleted += cursor.rowcount
            if cursor.rowcount < batch:
                return deleted
