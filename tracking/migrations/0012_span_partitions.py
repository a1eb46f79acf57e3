"""PostgreSQL: make ``tracking_span`` a table partitioned by range of ``start_time``.

The table keeps its name. Spans already stored stay where they are: the old table is
attached whole as the partition ``tracking_span_legacy`` (MINVALUE to a day boundary just
past the latest start any span may have), and dropped by retention once that day is older
than SPAN_RETENTION_DAYS. Daily partitions follow it, and a DEFAULT partition takes a span
no partition holds. A table with no rows is simply replaced.

Not atomic, to keep the table's ACCESS EXCLUSIVE lock short (docs/scaling.md, "Span
partitions and retention", for the times measured):
1. without blocking writes: the unique indexes the partition needs, built CONCURRENTLY, and
   a CHECK of its range, added NOT VALID (a moment's lock) then VALIDATEd (no write lock),
   so that ATTACH neither builds an index nor scans the table;
2. in one short transaction: rename, new parent, attach, default and day partitions. Only
   catalog work, whatever the table's size.
A lock wait longer than LOCK_TIMEOUT fails the migration instead of queueing ingest behind
it; run it again (each step is skipped once done).

Reversible: backwards copies every span into a plain table again (a long lock on a large
table: for a development database or a rollback), keeping one row per (trace_id, span_id).
SQLite keeps its plain table (0013 changes its unique constraint).
"""

from datetime import UTC, datetime, timedelta

from django.db import migrations, transaction

LOCK_TIMEOUT = "10s"
AHEAD_DAYS = 7
# The latest start a span may have: ingest refuses a span that ends later than an hour past
# its arrival (tracking.ingest.events.MAX_CLOCK_SKEW). The legacy range ends a day past it.
MAX_SKEW = timedelta(hours=1)
LEGACY = "tracking_span_legacy"
BOUND_CHECK = "tracking_span_legacy_bound"
LEGACY_PKEY = "tracking_span_legacy_pkey"
LEGACY_KEY = "tracking_span_legacy_key"


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _one(cursor, sql, params=()):
    cursor.execute(sql, params)
    row = cursor.fetchone()
    return row[0] if row else None


def _relkind(cursor, name):
    return _one(cursor, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [name])


def _prepare(cursor, legacy_end):
    """Step 1: what ATTACH will need, built while ingest goes on."""
    for name, columns in (
        (LEGACY_PKEY, "id, start_time"),
        (LEGACY_KEY, "trace_id, span_id, start_time"),
    ):
        valid = _one(
            cursor,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
            [name],
        )
        if valid is False:  # a CONCURRENTLY build that was interrupted
            cursor.execute(f"DROP INDEX CONCURRENTLY {name}")
        if valid is not True:
            cursor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON tracking_span ({columns})")
    if not _one(cursor, "SELECT 1 FROM pg_constraint WHERE conname = %s", [BOUND_CHECK]):
        cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"ALTER TABLE tracking_span ADD CONSTRAINT {BOUND_CHECK} "
            "CHECK (start_time < %s) NOT VALID",
            [legacy_end],
        )
        cursor.execute("RESET lock_timeout")
    cursor.execute(f"ALTER TABLE tracking_span VALIDATE CONSTRAINT {BOUND_CHECK}")


def _ready(cursor, legacy_end):
    """Rows arrived after step 1 found the table empty: build what it skipped, under the
    lock (a few rows)."""
    for name, columns in (
        (LEGACY_PKEY, "id, start_time"),
        (LEGACY_KEY, "trace_id, span_id, start_time"),
    ):
        cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON tracking_span ({columns})")
    if not _one(cursor, "SELECT 1 FROM pg_constraint WHERE conname = %s", [BOUND_CHECK]):
        cursor.execute(
            f"ALTER TABLE tracking_span ADD CONSTRAINT {BOUND_CHECK} CHECK (start_time < %s)",
            [legacy_end],
        )


def _legacy_end(cursor):
    """The legacy range's end: the one step 1 validated, or a new one."""
    found = _one(
        cursor,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
        [BOUND_CHECK],
    )
    if found:
        cursor.execute("SELECT (regexp_match(%s, '''([^'']+)'''))[1]::timestamptz", [found])
        return cursor.fetchone()[0]
    return _day(datetime.now(UTC) + MAX_SKEW) + timedelta(days=1)


def _create_parent(cursor, like, index_defs, fk_defs, id_start):
    cursor.execute(
        f"CREATE TABLE tracking_span (LIKE {like} INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION) "
        "PARTITION BY RANGE (start_time)"
    )
    # LIKE copied the legacy range's CHECK too: it belongs to that partition only.
    cursor.execute(f"ALTER TABLE tracking_span DROP CONSTRAINT IF EXISTS {BOUND_CHECK}")
    cursor.execute(f"CREATE SEQUENCE tracking_span_id_seq AS bigint START WITH {int(id_start)}")
    cursor.execute("ALTER SEQUENCE tracking_span_id_seq OWNED BY tracking_span.id")
    cursor.execute(
        "ALTER TABLE tracking_span ALTER COLUMN id SET DEFAULT nextval('tracking_span_id_seq')"
    )
    # The partition key must be part of every unique constraint: a resent span has the
    # same start (OTLP exporters resend the same bytes), so de-duplication stays exact.
    cursor.execute(
        "ALTER TABLE tracking_span ADD CONSTRAINT tracking_span_pkey PRIMARY KEY (id, start_time)"
    )
    cursor.execute(
        "ALTER TABLE tracking_span ADD CONSTRAINT span_unique_id "
        "UNIQUE (trace_id, span_id, start_time)"
    )
    for definition in index_defs:
        cursor.execute(definition)
    for name, definition in fk_defs:
        cursor.execute(f"ALTER TABLE tracking_span ADD CONSTRAINT {name} {definition}")
    cursor.execute("CREATE TABLE tracking_span_default PARTITION OF tracking_span DEFAULT")


def _day_partitions(cursor, first, last):
    day = first
    while day <= last:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS tracking_span_p{day:%Y%m%d} PARTITION OF tracking_span "
            "FOR VALUES FROM (%s) TO (%s)",
            [day.isoformat(), (day + timedelta(days=1)).isoformat()],
        )
        day += timedelta(days=1)


def _cutover(cursor, legacy_end):
    """Step 2, in one transaction: catalog work only."""
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    cursor.execute("LOCK TABLE tracking_span IN ACCESS EXCLUSIVE MODE")
    # Definitions read off the old table, so the parent's match its indexes exactly and
    # ATTACH adopts them instead of building new ones.
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'tracking_span'::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "AND c.relname NOT IN (%s, %s)",
        [LEGACY_PKEY, LEGACY_KEY],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'tracking_span'::regclass AND contype = 'f'"
    )
    fks = cursor.fetchall()
    sequence = _one(cursor, "SELECT pg_get_serial_sequence('tracking_span', 'id')")
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
    last_value, called = cursor.fetchone()
    id_start = last_value + 1 if called else last_value
    today = _day(datetime.now(UTC))
    ahead = today + timedelta(days=AHEAD_DAYS)

    if not _one(cursor, "SELECT EXISTS (SELECT 1 FROM tracking_span)"):
        # Nothing to keep: a new table, day partitions from yesterday (late spans).
        cursor.execute("ALTER TABLE tracking_span RENAME TO tracking_span_old")
        for name, _ in indexes:
            cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
        cursor.execute("ALTER TABLE tracking_span_old DROP CONSTRAINT tracking_span_pkey")
        cursor.execute("ALTER TABLE tracking_span_old DROP CONSTRAINT span_unique_id")
        cursor.execute("ALTER TABLE tracking_span_old ALTER COLUMN id DROP IDENTITY")
        _create_parent(cursor, "tracking_span_old", [d for _, d in indexes], fks, id_start)
        cursor.execute("DROP TABLE tracking_span_old")
        _day_partitions(cursor, today - timedelta(days=1), ahead)
        return

    _ready(cursor, legacy_end)
    cursor.execute(f"ALTER TABLE tracking_span RENAME TO {LEGACY}")
    for name, _ in indexes:
        cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_legacy")
    cursor.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT tracking_span_pkey")
    cursor.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT span_unique_id")
    cursor.execute(
        f"ALTER TABLE {LEGACY} ADD CONSTRAINT {LEGACY_PKEY} PRIMARY KEY USING INDEX {LEGACY_PKEY}"
    )
    cursor.execute(
        f"ALTER TABLE {LEGACY} ADD CONSTRAINT {LEGACY_KEY} UNIQUE USING INDEX {LEGACY_KEY}"
    )
    # An identity column's sequence belongs to its table: the parent gets its own, going on
    # from the same value.
    cursor.execute(f"ALTER TABLE {LEGACY} ALTER COLUMN id DROP IDENTITY")
    _create_parent(cursor, LEGACY, [d for _, d in indexes], fks, id_start)
    # The validated CHECK proves the range: ATTACH reads no row.
    cursor.execute(
        f"ALTER TABLE tracking_span ATTACH PARTITION {LEGACY} FOR VALUES FROM (MINVALUE) TO (%s)",
        [legacy_end.isoformat()],
    )
    cursor.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT {BOUND_CHECK}")
    _day_partitions(cursor, _day(legacy_end), ahead)


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if _relkind(cursor, "tracking_span") != "r":
            return  # converted already
        legacy_end = _legacy_end(cursor)
        if _one(cursor, "SELECT EXISTS (SELECT 1 FROM tracking_span)"):
            _prepare(cursor, legacy_end)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _cutover(cursor, legacy_end)


def unpartition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if _relkind(cursor, "tracking_span") != "p":
            return
        cursor.execute("ALTER TABLE tracking_span RENAME TO tracking_span_partitioned")
        cursor.execute(
            "ALTER TABLE tracking_span_partitioned RENAME CONSTRAINT tracking_span_pkey "
            "TO tracking_span_partitioned_pkey"
        )
        cursor.execute(
            "ALTER TABLE tracking_span_partitioned RENAME CONSTRAINT span_unique_id "
            "TO span_unique_id_partitioned"
        )
        cursor.execute(
            "ALTER SEQUENCE tracking_span_id_seq RENAME TO tracking_span_partitioned_seq"
        )
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'tracking_span_partitioned'::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
        # The plain table's CHECKs get their usual names back (PostgreSQL names them unique
        # within the schema).
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = "
            "'tracking_span_partitioned'::regclass AND contype = 'c'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE tracking_span_partitioned DROP CONSTRAINT {name}")
        last_value = _one(cursor, "SELECT last_value FROM tracking_span_partitioned_seq")
        span = apps.get_model("tracking", "Span")
        schema_editor.create_model(span)  # as it was: identity id, unique (trace_id, span_id)
        columns = ", ".join(f'"{f.column}"' for f in span._meta.local_fields)
        # Two rows of one (trace_id, span_id) with different starts become the first one.
        cursor.execute(
            f"INSERT INTO tracking_span ({columns}) OVERRIDING SYSTEM VALUE "  # noqa: S608
            f"SELECT {columns} FROM tracking_span_partitioned ORDER BY id "
            "ON CONFLICT (trace_id, span_id) DO NOTHING"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tracking_span', 'id'), %s)", [last_value]
        )
        cursor.execute("DROP TABLE tracking_span_partitioned")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tracking", "0011_flowapikey_last_used_at"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
