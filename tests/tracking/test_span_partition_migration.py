"""Migration 0012 on a table that holds spans: attached whole as the legacy partition, still
de-duplicating, and back to a plain table."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.tracking.span_helpers import ago, partition_of

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("tracking", "0011_flowapikey_last_used_at")]
INSERT = (
    "INSERT INTO tracking_span (trace_id, span_id, parent_span_id, name, kind, service_name, "
    "start_time, end_time, status_code, status_message, correlation_id, journey, stage, "
    "attributes, received_at) VALUES (%s, %s, '', 'op', 1, 's', %s, %s, 1, '', 'MIG-1', '', '', "
    "'{}', now())"
)


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target or executor.loader.graph.leaf_nodes())


def test_existing_spans_become_the_legacy_partition_and_come_back():
    rows = [("a" * 32, f"{n:016x}", ago(n)) for n in range(1, 4)]
    try:
        migrate(BEFORE)
        with connection.cursor() as cursor:
            for trace, span_id, start in rows:
                cursor.execute(INSERT, [trace, span_id, start, start])
        migrate(None)
        assert partition_of("a" * 32, f"{1:016x}") == ["tracking_span_legacy"]
        with connection.cursor() as cursor:
            # A resend of a span stored before the migration is still caught.
            cursor.execute(
                INSERT.replace(
                    "now())",
                    "now()) ON CONFLICT (trace_id, span_id, start_time) DO NOTHING RETURNING id",
                ),
                ["a" * 32, f"{1:016x}", rows[0][2], rows[0][2]],
            )
            assert cursor.fetchall() == []
            cursor.execute("SELECT count(*), max(id) FROM tracking_span")
            count, top = cursor.fetchone()
            assert count == 3
            cursor.execute(INSERT + " RETURNING id", ["b" * 32, "1" * 16, ago(0), ago(0)])
            assert cursor.fetchone()[0] > top
        migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'tracking_span'")
            assert cursor.fetchone() == ("r",)
            cursor.execute("SELECT count(*) FROM tracking_span")
            assert cursor.fetchone() == (4,)
    finally:
        # Leave the schema as a new database has it: no legacy partition.
        migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tracking_span")
        migrate(None)
