"""Spans sent through the real OTLP endpoint at moments relative to now, and where they went."""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from tests.tracking.factories import pb_export

URL = "/v1/traces"


def nanos_at(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def span(trace: str, span_id: str, start: datetime, **attributes) -> dict:
    return {
        "trace_id": trace,
        "span_id": span_id,
        "start": nanos_at(start),
        "end": nanos_at(start + timedelta(milliseconds=250)),
        "attributes": attributes,
    }


def stage_span(trace: str, span_id: str, start: datetime, cid: str, stage: str) -> dict:
    labels = {"c2c.correlation_id": cid, "c2c.journey": "billing", "c2c.stage": stage}
    return span(trace, span_id, start, **labels)


def send(client, spans: list[dict]) -> None:
    response = client.post(URL, pb_export(spans), content_type="application/x-protobuf")
    assert response.status_code == 200, response.content


def ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def partition_of(trace: str, span_id: str) -> list[str]:
    """The partition holding each stored row of (trace, span), by start."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM tracking_span "
            "WHERE trace_id = %s AND span_id = %s ORDER BY start_time",
            [trace, span_id],
        )
        return [row[0] for row in cursor.fetchall()]


def partition_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'tracking_span'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}
