"""Exactly-once: the same 10,000 events and spans sent twice, shuffled, leave the ledger that
sending them once leaves (counts, summed amounts, every transaction's state)."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db.models import Count, Sum

from tests.tracking.factories import pb_export
from tracking.models import DeadLetter, Event, Span, Transaction
from tracking.simulation.delivery import event_body
from tracking.simulation.scenario import Report, plan_transaction

pytestmark = pytest.mark.django_db
TARGET = 10_000


def _hex(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[: size * 2]


def traffic() -> tuple[list[dict], list[dict]]:
    """Simulated history split by transport: event bodies, and span specs with fixed ids."""
    rng = random.Random(20261121)
    now = datetime.now(UTC)
    events: list[dict] = []
    spans: list[dict] = []
    number = 0
    while len(events) < TARGET or len(spans) < TARGET:  # a stage span and its child each
        number += 1
        started = now - timedelta(days=30) * rng.random()
        for report in plan_transaction(rng, number, started):
            if report.occurred_at > now:
                continue
            if report.transport == "event" and len(events) < TARGET:
                events.append(event_body(report))
            elif report.transport == "span" and report.status != "started":
                spans.extend(_spans(report))
    return events, spans[:TARGET]


def _spans(report: Report) -> list[dict]:
    trace, root = _hex(report.event_id, 16), _hex("root" + report.event_id, 8)
    end = int(report.occurred_at.timestamp() * 1e9)
    stage = {
        "trace_id": trace,
        "span_id": root,
        "name": report.stage,
        "start": end - 10**9,
        "end": end,
        "status": 2 if report.status == "failed" else 1,
        "message": report.error_message,
        "attributes": {
            "c2c.correlation_id": report.correlation_id,
            "c2c.journey": report.journey,
            "c2c.stage": report.stage,
            "c2c.amount": str(report.amount),
            "c2c.currency": report.currency,
            **{f"c2c.{k}": v for k, v in report.dims.items()},
        },
    }
    # The inner call names no transaction: it joins through its trace, whichever arrives first.
    child = {
        "trace_id": trace,
        "span_id": _hex("child" + report.event_id, 8),
        "parent": root,
        "name": "POST /erp/api",
        "start": end - 10**9,
        "end": end - 10**8,
    }
    return [stage, child]


def send(client, key: str, events: list[dict], spans: list[dict], rng: random.Random) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    size = rng.choice([97, 250, 500])
    for start in range(0, len(events), size):
        response = client.post(
            "/api/v1/events",
            orjson.dumps(events[start : start + size]),
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 202 and not response.json()["errors"], response.json()
    size = rng.choice([128, 333, 512])
    for start in range(0, len(spans), size):
        response = client.post(
            "/v1/traces",
            pb_export(spans[start : start + size]),
            content_type="application/x-protobuf",
            **auth,
        )
        assert response.status_code == 200 and not response.content, response.content


def snapshot() -> dict:
    totals = Transaction.objects.aggregate(
        n=Count("id"), amount=Sum("amount"), events=Sum("event_count")
    )
    rows = Transaction.objects.order_by("correlation_id").values_list(
        "correlation_id",
        "state__status",
        "current_stage_id",
        "stage_status",
        "amount",
        "currency",
        "region",
        "event_count",
        "started_at",
        "last_event_at",
        "completed_at",
        "next_deadline_at",
        "error_code",
        "stage_times",
    )
    return {
        "totals": totals,
        "events": Event.objects.count(),
        "event_amount": Event.objects.aggregate(s=Sum("amount"))["s"],
        "spans": Span.objects.count(),
        "spans_linked": Span.objects.exclude(correlation_id="").count(),
        "letters": DeadLetter.objects.count(),
        "rows": list(rows),
    }


def wipe() -> None:
    Event.objects.all().delete()
    Transaction.objects.all().delete()
    Span.objects.all().delete()


def test_twice_shuffled_equals_once(client, ingest_key):
    events, spans = traffic()
    assert (len(events), len(spans)) == (TARGET, TARGET)
    send(client, ingest_key, events, spans, random.Random(1))
    once = snapshot()
    assert once["events"] > TARGET  # API events plus the events the stage spans report
    assert once["spans"] == once["spans_linked"] == TARGET
    assert once["totals"]["events"] == once["events"]
    assert once["letters"] == 0

    wipe()
    rng = random.Random(2)
    twice_events, twice_spans = events * 2, spans * 2
    rng.shuffle(twice_events)
    rng.shuffle(twice_spans)
    send(client, ingest_key, twice_events, twice_spans, rng)
    assert snapshot() == once
