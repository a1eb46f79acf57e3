"""Batch writes: nothing handed to them is dropped, inside a transaction or not."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from tracking.feed import mark_changed
from tracking.models import ChangedTransaction, Journey, Transaction

MOMENT = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_an_upsert_in_autocommit_keeps_its_rows():
    # Outside any atomic block each statement commits alone, which empties the
    # ON COMMIT DELETE ROWS staging table between the COPY and the INSERT that reads it.
    txn = Transaction.objects.create(
        correlation_id="BULK-1",
        journey=Journey.objects.get(slug="billing"),
        started_at=MOMENT,
        last_event_at=MOMENT,
    )
    assert connection.get_autocommit()
    mark_changed([txn.id], MOMENT)
    assert list(ChangedTransaction.objects.values_list("transaction_id", "due_at")) == [
        (txn.id, MOMENT)
    ]
