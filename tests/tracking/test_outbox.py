"""Ingest tells the rest of the app what changed: status changes and the change feed."""

import pytest

from tests.tracking.factories import event
from tracking.models import ChangedTransaction, StatusChange, Transaction

pytestmark = pytest.mark.django_db


def post(client, body):
    response = client.post("/api/v1/events", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def changes() -> list[tuple[str, str, str, str]]:
    return [
        (c.from_status, c.to_status, c.stage.slug if c.stage else "", c.error_code)
        for c in StatusChange.objects.select_related("stage")
    ]


def test_progress_alone_is_not_news(ingest_client):
    post(ingest_client, [event("work_approved", hours=0), event("invoice_generated", hours=1)])
    assert changes() == []


def test_a_failure_its_repeat_and_its_recovery_are_each_recorded_once(ingest_client):
    post(ingest_client, event("work_approved", hours=0))
    failure = event("invoice_generated", "failed", hours=1, error={"code": "E42", "message": "x"})
    post(ingest_client, failure)
    post(ingest_client, failure)  # a duplicate changes nothing
    post(ingest_client, event("invoice_generated", "failed", hours=2, error={"code": "E43"}))
    post(ingest_client, event("invoice_generated", hours=3))
    assert changes() == [
        ("in_progress", "failed", "invoice_generated", "E42"),
        ("failed", "failed", "invoice_generated", "E43"),
        ("failed", "in_progress", "invoice_generated", ""),
    ]
    first = StatusChange.objects.first()
    assert (first.cause, first.event_id, first.processed) == ("event", failure["event_id"], None)


def test_a_new_transaction_that_fails_at_once_is_recorded(ingest_client):
    post(ingest_client, event("work_approved", "failed", error={"code": "E1"}))
    assert changes() == [("", "failed", "work_approved", "E1")]


def test_completion_is_recorded(ingest_client):
    stages = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
    post(ingest_client, [event(stage, hours=i) for i, stage in enumerate(stages)])
    assert changes() == [("", "completed", "payment_received", "")]


def test_every_touched_transaction_enters_the_change_feed(ingest_client):
    post(
        ingest_client,
        [
            event("work_approved", correlation_id="A-1"),
            event("work_approved", correlation_id="A-2"),
        ],
    )
    feed = set(ChangedTransaction.objects.values_list("transaction__correlation_id", flat=True))
    assert feed == {"A-1", "A-2"}


def test_the_earliest_due_time_wins_in_the_feed(ingest_client):
    post(ingest_client, event("work_approved"))
    txn = Transaction.objects.get()
    entry = ChangedTransaction.objects.get()
    first_due = entry.due_at
    post(ingest_client, event("invoice_generated", hours=1))
    assert ChangedTransaction.objects.get(transaction=txn).due_at == first_due
