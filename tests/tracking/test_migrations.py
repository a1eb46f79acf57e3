"""What the ledger's schema migrations leave in PostgreSQL: every index is paid for on each
write of a transaction row (the projection's per event; the sweep's per stuck one, on the
narrow state row)."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.tracking.factories import event
from tracking.models import Transaction

pytestmark = pytest.mark.django_db
fewer_indexes = importlib.import_module("tracking.migrations.0006_transaction_fewer_indexes")
LIKE = "tracking_transaction_correlation_id_4d6be2a2_like"


def indexes(table: str = "tracking_transaction") -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def test_the_ledger_keeps_only_the_indexes_something_reads():
    assert indexes() == {
        "tracking_transaction_pkey",
        "txn_correlation_id",
        "txn_last_event",
        "txn_amount",
        "txn_started",
        "txn_deadline",
        # A contract's chain (reconciliation); partial: rows with no contract pay nothing.
        "txn_contract",
    }
    # What reads by status (explorer, risk snapshot, stuck sweep) reads the narrow rows.
    assert indexes("tracking_transactionstate") == {
        "tracking_transactionstate_pkey",
        "txn_status_recent",
        "txn_moving_deadline",
    }


def test_the_outbox_and_the_change_feed_have_no_foreign_key_checks():
    """Each row the sweep or ingest writes there would cost a check at commit (three per
    outbox row): a third of a 10,000-row sweep. Their ids come from the ledger itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid IN ('tracking_statuschange'::regclass, "
            "'tracking_changedtransaction'::regclass)"
        )
        assert cursor.fetchall() == []
    assert indexes("tracking_statuschange") == {
        "tracking_statuschange_pkey",
        "statuschange_txn",
        "statuschange_unprocessed",
    }


def test_correlation_ids_stay_unique_and_ingest_still_merges_on_them(ingest_client):
    for _ in range(2):
        response = ingest_client.post(
            "/api/v1/events", [event("work_approved", correlation_id="UNIQ-1")], format="json"
        )
        assert response.status_code == 202, response.content
    assert Transaction.objects.filter(correlation_id="UNIQ-1").count() == 1
    row = Transaction.objects.get(correlation_id="UNIQ-1")
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_the_migration_renames_the_constraint_and_drops_the_like_index_and_back():
    with connection.schema_editor() as editor:
        fewer_indexes.restore_the_index(apps, editor)
    assert {"tracking_transaction_correlation_id_key", LIKE} <= indexes()
    assert "txn_correlation_id" not in indexes()
    with connection.schema_editor() as editor:
        fewer_indexes.keep_the_index(apps, editor)
    assert "txn_correlation_id" in indexes()
    assert not {"tracking_transaction_correlation_id_key", LIKE} & indexes()


@pytest.mark.django_db(transaction=True)
def test_the_status_moves_to_the_state_rows_and_back():
    """Upgrading keeps every transaction's status and version; downgrading puts them back."""
    before, after = (
        [("tracking", "0006_transaction_fewer_indexes")],
        [("tracking", "0007_transaction_state")],
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM tracking_journey ORDER BY id LIMIT 1")
            journey = cursor.fetchone()[0]
            for number, (status, version) in enumerate([("stuck", 4), ("completed", 9)]):
                cursor.execute(
                    "INSERT INTO tracking_transaction (correlation_id, journey_id, stage_status, "
                    "stage_event_id, status, customer, contract, project, invoice, region, "
                    "business_unit, legal_entity, currency, error_code, error_message, started_at, "
                    "last_event_at, next_deadline_at, stage_times, facts, event_count, version, "
                    "created_at, updated_at) VALUES (%s, %s, '', '', %s, '', '', '', '', '', '', "
                    "'', '', '', '', now(), now() - interval '1 hour', now(), '{}', '{}', 1, %s, "
                    "now(), now())",
                    [f"MIG-{number}", journey, status, version],
                )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.correlation_id, s.status, s.version, s.last_event_at = t.last_event_at, "
                "s.next_deadline_at = t.next_deadline_at FROM tracking_transactionstate s "
                "JOIN tracking_transaction t ON t.id = s.transaction_id ORDER BY 1"
            )
            assert cursor.fetchall() == [
                ("MIG-0", "stuck", 4, True, True),
                ("MIG-1", "completed", 9, True, True),
            ]
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT correlation_id, status, version FROM tracking_transaction ORDER BY 1"
            )
            assert cursor.fetchall() == [("MIG-0", "stuck", 4), ("MIG-1", "completed", 9)]
    finally:
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_a_database_a_migration_behind_can_be_connected_to_and_upgraded():
    """A process that connects to a database whose tables lack the code's new columns (an
    upgrade, before `migrate`) must start, so that `migrate` itself can run."""
    behind = [("tracking", "0009_event_ids_per_flow")]
    try:
        MigrationExecutor(connection).migrate(behind)
        connection.close()
        connection.ensure_connection()  # connection_created: the staging tables' hook
        latest = MigrationExecutor(connection)
        latest.loader.build_graph()
        latest.migrate(latest.loader.graph.leaf_nodes())
        with connection.cursor() as cursor:
            cursor.execute("SELECT stage_amounts FROM tracking_transaction LIMIT 1")
    finally:
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())
