"""What the ledger's schema migrations leave in PostgreSQL: every index is paid for on each
write of a transaction row (the projection's per event, the sweep's per stuck one)."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from tests.tracking.factories import event
from tracking.models import Transaction

pytestmark = pytest.mark.django_db
fewer_indexes = importlib.import_module("tracking.migrations.0006_transaction_fewer_indexes")
LIKE = "tracking_transaction_correlation_id_4d6be2a2_like"


def indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tracking_transaction'")
        return {row[0] for row in cursor.fetchall()}


def test_the_ledger_keeps_only_the_indexes_something_reads():
    assert indexes() == {
        "tracking_transaction_pkey",
        "txn_correlation_id",
        "txn_last_event",
        "txn_status_recent",
        "txn_amount",
        "txn_started",
        "txn_deadline",
        "txn_moving_deadline",
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
