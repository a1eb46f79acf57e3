"""The span table partitioned by start time (PostgreSQL): partitions made ahead, exact
de-duplication across them, the DEFAULT partition, and look-ups by id."""

from datetime import timedelta

import pytest
from django.db import connection
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.tracking.factories import pb_export
from tests.tracking.span_helpers import URL, ago, partition_names, partition_of, send, span
from tracking import partitions
from tracking.models import Event, Span
from tracking.tasks import create_span_partitions

pytestmark = pytest.mark.django_db
TRACE = "0af7651916cd43dd8448eb211c80319c"
PB = "application/x-protobuf"


def test_the_span_table_is_partitioned_by_start_time_with_a_default():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_partkeydef('tracking_span'::regclass), "
            "pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'span_unique_id'"
        )
        assert cursor.fetchone() == (
            "RANGE (start_time)",
            "UNIQUE (trace_id, span_id, start_time)",
        )
    assert partitions.DEFAULT in partition_names()


def test_the_beat_task_creates_days_ahead_once(settings):
    settings.SPAN_PARTITIONS_AHEAD = 10
    create_span_partitions()
    first = partition_names()
    today = partitions.day_start(ago(0))
    for offset in range(-1, 11):
        assert partitions.partition_name(today + timedelta(days=offset)) in first
    assert create_span_partitions() == 0
    assert partitions.ensure(10) == []
    assert partition_names() == first


def test_a_resent_span_is_stored_once_in_old_and_new_partitions(ingest_client):
    partitions.ensure(2, since=ago(100))
    old = span(TRACE, "00f067aa0ba902b7", ago(100))
    new = span(TRACE, "00f067aa0ba902b8", ago(0.01))
    for _ in range(3):  # an exporter's retries: the same bytes again
        send(ingest_client, [old, new])
    assert Span.objects.count() == 2
    assert partition_of(TRACE, "00f067aa0ba902b7") == [
        partitions.partition_name(partitions.day_start(ago(100)))
    ]
    assert partition_of(TRACE, "00f067aa0ba902b8") == [
        partitions.partition_name(partitions.day_start(ago(0.01)))
    ]


def test_the_same_ids_with_another_start_are_kept_as_another_span(ingest_client):
    """Not a resend (a resend has the same start): a broken exporter's, kept, not lost."""
    partitions.ensure(2, since=ago(3))
    send(ingest_client, [span(TRACE, "00f067aa0ba902b9", ago(2))])
    send(ingest_client, [span(TRACE, "00f067aa0ba902b9", ago(1))])
    assert Span.objects.filter(span_id="00f067aa0ba902b9").count() == 2


def test_a_span_no_partition_holds_lands_in_the_default_and_moves_when_its_day_comes(
    ingest_client,
):
    partitions.ensure(2)
    far = span(TRACE, "00f067aa0ba902c0", ago(3 * 365))
    send(ingest_client, [far])
    send(ingest_client, [far])
    assert partition_of(TRACE, "00f067aa0ba902c0") == [partitions.DEFAULT]
    # Its day's partition made later takes it out of the default: the default stays small.
    created = partitions.ensure(0, since=ago(3 * 365), now=ago(3 * 365 - 1))
    day = partitions.partition_name(partitions.day_start(ago(3 * 365)))
    assert day in created
    assert partition_of(TRACE, "00f067aa0ba902c0") == [day]
    send(ingest_client, [far])
    assert Span.objects.filter(span_id="00f067aa0ba902c0").count() == 1


def test_spans_are_still_found_and_changed_by_id(ingest_client):
    partitions.ensure(2, since=ago(5))
    send(ingest_client, [span(TRACE, "00f067aa0ba902c1", ago(4))])
    stored = Span.objects.get(span_id="00f067aa0ba902c1")
    assert Span.objects.get(pk=stored.pk) == stored
    assert Span.objects.filter(id=stored.id).update(correlation_id="SOW-1") == 1
    stored.refresh_from_db()
    assert stored.correlation_id == "SOW-1"
    later = span(TRACE, "00f067aa0ba902c2", ago(0.01))
    send(ingest_client, [later])
    assert Span.objects.get(span_id="00f067aa0ba902c2").id > stored.id


def test_a_stage_report_under_the_same_ids_and_another_start_is_one_event(ingest_client):
    """Its event id is the span's ids (span:<trace>:<span>): the span is stored, its report
    refused as any resend of an event id with different content is."""
    partitions.ensure(2, since=ago(3))
    labels = {"c2c.correlation_id": "SOW-DUP", "c2c.journey": "billing"}
    first = span(TRACE, "00f067aa0ba902c3", ago(2), **labels, **{"c2c.stage": "work_approved"})
    other = span(TRACE, "00f067aa0ba902c3", ago(1), **labels, **{"c2c.stage": "work_approved"})
    send(ingest_client, [first])
    response = ingest_client.post(URL, pb_export([other]), content_type=PB)
    assert response.status_code == 200
    reply = ExportTraceServiceResponse()
    reply.ParseFromString(response.content)
    assert reply.partial_success.rejected_spans == 1
    assert "different content" in reply.partial_success.error_message
    assert Span.objects.filter(span_id="00f067aa0ba902c3").count() == 2
    assert Event.objects.filter(span_id="00f067aa0ba902c3").count() == 1
