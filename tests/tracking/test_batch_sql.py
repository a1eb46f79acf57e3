"""Batch writes: nothing handed to them is dropped, inside a transaction or not."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from tracking.batch_sql import FEW_ROWS, upsert
from tracking.feed import mark_changed
from tracking.ledger_rows import LETTER_COLUMNS
from tracking.models import ChangedTransaction, DeadLetter, Journey, Transaction

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


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, FEW_ROWS, FEW_ROWS + 1, 300])
def test_few_rows_and_many_rows_are_written_alike(count, flow):
    # Up to FEW_ROWS rows go as one INSERT ... VALUES, more through the staging table:
    # both must store the same values and answer the same way.
    payload = {"amount": "12.50", "nested": {"list": [1, None, "é"]}, "empty": {}}
    rows = [
        (f"evt-{n}", f"SOW-{n}", flow.id, "api", payload, f"{n:064x}", "", MOMENT)
        for n in range(count)
    ]

    def write() -> list[tuple]:
        return upsert(
            DeadLetter,
            LETTER_COLUMNS,
            rows,
            conflict=["flow", "event_id"],
            conflict_where="resolved_at IS NULL",
            returning=["event_id"],
        )

    assert sorted(write()) == sorted((f"evt-{n}",) for n in range(count))
    assert write() == []  # all there already
    stored = DeadLetter.objects.get(event_id=f"evt-{count - 1}")
    assert stored.payload == payload
    assert stored.received_at == MOMENT
    assert stored.reason == ""
