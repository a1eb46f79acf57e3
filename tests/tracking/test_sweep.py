"""The stuck sweep marks late transactions once, leaves failures alone, and yields to progress."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from tests.tracking.factories import BASE, event
from tracking import ledger, ledger_rows
from tracking.ingest.events import parse_event
from tracking.models import ChangedTransaction, Flow, StatusChange, Transaction, TransactionState
from tracking.sweep import sweep

DAY = timedelta(days=1)


def post(client, body):
    response = client.post("/api/v1/events", body, format="json")
    assert response.status_code == 202, response.content


def stuck_changes() -> list[str]:
    return list(
        StatusChange.objects.filter(to_status="stuck").values_list("correlation_id", flat=True)
    )


@pytest.mark.django_db
def test_a_late_transaction_becomes_stuck_once(ingest_client):
    # work_approved at BASE: invoice_generated is due two days later.
    post(ingest_client, event("work_approved", correlation_id="LATE-1"))
    post(ingest_client, event("work_approved", correlation_id="ON-TIME", hours=47))
    ChangedTransaction.objects.all().delete()

    result = sweep(now=BASE + 2 * DAY + timedelta(minutes=1))
    assert result.marked == 1
    assert Transaction.objects.get(correlation_id="LATE-1").status == "stuck"
    assert Transaction.objects.get(correlation_id="ON-TIME").status == "in_progress"
    change = StatusChange.objects.get()
    assert (change.from_status, change.to_status, change.cause) == ("in_progress", "stuck", "sweep")
    assert change.stage.slug == "work_approved"
    assert list(
        ChangedTransaction.objects.values_list("transaction__correlation_id", flat=True)
    ) == ["LATE-1"]

    assert sweep(now=BASE + 5 * DAY).marked == 1  # ON-TIME is late by now
    assert sweep(now=BASE + 5 * DAY).marked == 0
    assert sorted(stuck_changes()) == ["LATE-1", "ON-TIME"]


@pytest.mark.django_db
def test_failed_transactions_stay_failed(ingest_client):
    post(ingest_client, event("work_approved", "failed", error={"code": "E1"}))
    post(ingest_client, event("work_approved", correlation_id="OTHER"))
    post(ingest_client, event("invoice_generated", "failed", correlation_id="OTHER", hours=1))
    assert sweep(now=BASE + 90 * DAY).marked == 0
    assert set(Transaction.objects.values_list("state__status", flat=True)) == {"failed"}


@pytest.mark.django_db
def test_progress_clears_stuck_and_says_so(ingest_client):
    post(ingest_client, event("work_approved"))
    sweep(now=BASE + 3 * DAY)
    post(ingest_client, event("invoice_generated", hours=80))
    txn = Transaction.objects.get()
    assert txn.status == "in_progress"
    assert list(StatusChange.objects.values_list("from_status", "to_status")) == [
        ("in_progress", "stuck"),
        ("stuck", "in_progress"),
    ]


@pytest.mark.django_db
def test_a_late_report_of_an_earlier_stage_does_not_clear_stuck(ingest_client):
    post(ingest_client, event("invoice_generated", hours=1))
    sweep(now=BASE + 3 * DAY)
    post(ingest_client, event("work_approved", hours=0))
    assert Transaction.objects.get().status == "stuck"


@pytest.mark.django_db
def test_sweeps_in_batches_until_done(ingest_client):
    post(ingest_client, [event("work_approved", correlation_id=f"B-{i}") for i in range(7)])
    result = sweep(now=BASE + 3 * DAY, batch=3)
    assert (result.marked, result.batches) == (7, 3)


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_mark_each_transaction_once(ingest_client):
    post(ingest_client, [event("work_approved", correlation_id=f"C-{i}") for i in range(300)])
    counts: list[int] = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        try:
            counts.append(sweep(now=BASE + 3 * DAY, batch=25).marked)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 300
    assert len(stuck_changes()) == 300
    assert Transaction.objects.filter(state__status="stuck").count() == 300


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_read_the_state_before_the_sweep_merges_again(ingest_client, monkeypatch):
    """The sweep changes only the state row; its version still makes a batch that read the
    transaction before the mark merge again, so the change back to moving is recorded."""
    post(ingest_client, event("work_approved"))
    read = ledger_rows.load_states
    attempts: list[str] = []

    def read_then_sweep(correlation_ids):
        states = read(correlation_ids)
        attempts.append(next(iter(states.values())).status)
        if len(attempts) == 1:  # the sweep commits between this batch's read and write
            thread = threading.Thread(
                target=lambda: (sweep(now=BASE + 3 * DAY), connection.close())
            )
            thread.start()
            thread.join()
        return states

    monkeypatch.setattr(ledger_rows, "load_states", read_then_sweep)
    post(ingest_client, event("invoice_generated", hours=80))
    assert attempts == ["in_progress", "stuck"]
    assert Transaction.objects.get().status == "in_progress"
    assert list(StatusChange.objects.values_list("from_status", "to_status", "cause")) == [
        ("in_progress", "stuck", "sweep"),
        ("stuck", "in_progress", "event"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_outbox_names_the_stage_a_batch_committed_while_the_sweep_waited(ingest_client):
    """The mark waits for a batch holding the state row; once it commits, the transaction
    is still late at its new stage, and the outbox row must name that stage."""
    post(ingest_client, event("work_approved"))
    flow = Flow.objects.get()
    later = [parse_event(event("invoice_generated", hours=1), flow.id, flow.slug)]
    written, swept = threading.Event(), []

    def batch() -> None:
        try:
            with transaction.atomic():
                ledger.record(later)
                written.set()
                with connection.cursor() as cursor:  # until the sweep waits for this row
                    for _ in range(200):
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
        finally:
            connection.close()

    def sweeper() -> None:
        written.wait(10)
        try:
            swept.append(sweep(now=BASE + 90 * DAY).marked)
        finally:
            connection.close()

    threads = [threading.Thread(target=batch), threading.Thread(target=sweeper)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert swept == [1]
    change = StatusChange.objects.get(cause="sweep")
    assert change.stage.slug == "invoice_generated"
    assert Transaction.objects.get().state.status == "stuck"


@pytest.mark.django_db
def test_a_ledger_row_without_its_state_row_merges_and_gets_one(ingest_client):
    post(ingest_client, event("work_approved"))
    TransactionState.objects.all().delete()
    post(ingest_client, event("invoice_generated", hours=1))
    txn = Transaction.objects.select_related("state", "current_stage").get()
    assert (txn.event_count, txn.current_stage.slug) == (2, "invoice_generated")
    assert (txn.state.status, txn.state.version) == ("in_progress", 1)
    assert txn.state.last_event_at == txn.last_event_at
