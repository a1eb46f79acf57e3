"""``apply_retention``: old span partitions dropped whole, everything else kept; events only
when asked, and only those of transactions over and quiet for long enough."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from tests.tracking.factories import event
from tests.tracking.span_helpers import ago, partition_names, send, stage_span
from tracking import partitions
from tracking.models import Event, Span, Transaction, TransactionState

pytestmark = pytest.mark.django_db
TRACE_OLD = "1af7651916cd43dd8448eb211c80319c"
TRACE_NEW = "2af7651916cd43dd8448eb211c80319c"
STAGES = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]


def approve(client, trace: str, span_id: str, start, cid: str) -> None:
    send(client, [stage_span(trace, span_id, start, cid, "work_approved")])


def retention(**options) -> str:
    out = StringIO()
    call_command("apply_retention", stdout=out, **options)
    return out.getvalue()


def test_done_when_old_partitions_go_and_recent_spans_and_every_transaction_stay(
    ingest_client,
):
    partitions.ensure(3, since=ago(101))
    recent = ago(0.01)  # one moment: a resend carries the same start
    approve(ingest_client, TRACE_OLD, "00f067aa0ba90201", ago(100), "OLD-1")
    approve(ingest_client, TRACE_NEW, "00f067aa0ba90202", recent, "NEW-1")
    events_before = sorted(Event.objects.values_list("event_id", flat=True))
    assert len(events_before) == 2
    old_day = partitions.partition_name(partitions.day_start(ago(100)))
    before = partition_names()
    assert old_day in before

    output = retention(span_days=30)

    after = partition_names()
    gone = before - after
    assert old_day in gone
    assert all(f"dropped partition {name}" in output for name in gone)
    cutoff = ago(30)
    assert all(p.upper > cutoff for p in partitions.partitions() if p.upper)
    assert partitions.DEFAULT in after
    assert list(Span.objects.values_list("trace_id", flat=True)) == [TRACE_NEW]
    assert set(Transaction.objects.values_list("correlation_id", flat=True)) == {"OLD-1", "NEW-1"}
    assert sorted(Event.objects.values_list("event_id", flat=True)) == events_before
    # Nothing left to do the second time.
    assert "no partition is wholly older" in retention(span_days=30)
    # A resend of the recent span is still one span.
    approve(ingest_client, TRACE_NEW, "00f067aa0ba90202", recent, "NEW-1")
    assert Span.objects.count() == 1


def test_a_dry_run_drops_nothing(ingest_client):
    partitions.ensure(1, since=ago(50))
    approve(ingest_client, TRACE_OLD, "00f067aa0ba90203", ago(45), "OLD-2")
    before = partition_names()
    output = retention(span_days=30, dry_run=True)
    assert "would drop partition" in output
    assert partition_names() == before
    assert Span.objects.count() == 1


def test_old_spans_in_the_default_partition_are_deleted_recent_ones_kept(ingest_client):
    partitions.ensure(1)
    approve(ingest_client, TRACE_OLD, "00f067aa0ba90204", ago(400), "OLD-3")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_span_default")
        assert cursor.fetchone() == (1,)
    assert "deleted 1 spans" in retention(span_days=30)
    assert not Span.objects.exists()
    assert Transaction.objects.filter(correlation_id="OLD-3").exists()


def test_zero_days_keeps_every_span(ingest_client):
    partitions.ensure(1, since=ago(100))
    approve(ingest_client, TRACE_OLD, "00f067aa0ba90205", ago(100), "OLD-4")
    before = partition_names()
    assert "spans: kept" in retention(span_days=0)
    assert partition_names() == before
    assert Span.objects.count() == 1


def _events(cid: str) -> int:
    return Event.objects.filter(transaction__correlation_id=cid).count()


def _report(client, cid: str, stages: list[str], days_ago: float) -> None:
    moment = ago(days_ago).isoformat()
    payload = [event(stage, correlation_id=cid, occurred_at=moment) for stage in stages]
    response = client.post("/api/v1/events", payload, format="json")
    assert response.status_code == 202, response.content


def test_events_go_only_when_asked_and_only_of_transactions_over_and_quiet(ingest_client):
    _report(ingest_client, "DONE-OLD", STAGES, 100)
    _report(ingest_client, "OPEN-OLD", STAGES[:1], 100)
    _report(ingest_client, "DONE-NEW", STAGES, 5)
    states = dict(TransactionState.objects.values_list("transaction__correlation_id", "status"))
    # OPEN-OLD waits for its next stage: in progress, or stuck once the sweep has seen it.
    assert states["DONE-OLD"] == states["DONE-NEW"] == "completed"
    assert states["OPEN-OLD"] in ("in_progress", "stuck")
    counts = {cid: _events(cid) for cid in states}

    assert "events: kept" in retention(span_days=30)
    assert Event.objects.count() == sum(counts.values())

    output = retention(span_days=30, event_days=60)
    assert f"events: deleted {counts['DONE-OLD']}" in output
    remaining = {cid: _events(cid) for cid in states}
    assert remaining == {**counts, "DONE-OLD": 0}
    # The transactions themselves, and their state, stay.
    assert TransactionState.objects.count() == 3
    assert Transaction.objects.get(correlation_id="DONE-OLD").event_count == counts["DONE-OLD"]
