"""Odd input is refused item by item (or cleaned), never a 500 that loses the batch."""

import threading

import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.tracking.factories import event, json_export, nanos, pb_export
from tracking.models import Event, Span, Transaction

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/events"
TRACE = "5b8efff798038103d269b633813fc60c"


def post_events(client, body):
    return client.post(EVENTS, orjson.dumps(body), content_type="application/json")


def post_spans(client, key, spans, **extra):
    response = client.post(
        "/v1/traces",
        pb_export(spans),
        content_type="application/x-protobuf",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **extra,
    )
    assert response.status_code == 200, response.content
    reply = ExportTraceServiceResponse()
    reply.ParseFromString(response.content)
    return reply.partial_success


def stage_span(span_id: str = "eee19b7ec3c1b174", **attrs) -> dict:
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "attributes": {
            "c2c.correlation_id": "SOW-EDGE",
            "c2c.journey": "billing",
            "c2c.stage": "work_approved",
            **attrs,
        },
    }


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("region", "R" * 101, "region is longer than 100 characters"),
        ("customer", "C" * 201, "customer is longer than 200 characters"),
        ("occurred_at", "0001-01-01T00:00:00+01:00", "out of range"),
        ("occurred_at", "1969-12-31T23:59:59Z", "before 1970"),
        ("attributes", {"n": 2**70}, "attributes cannot be stored"),
    ],
)
def test_values_the_ledger_cannot_hold_are_item_errors(ingest_client, field, value, detail):
    body = [
        event("work_approved", event_id="ok"),
        event("work_approved", event_id="bad", **{field: value}),
    ]
    response = ingest_client.post(EVENTS, body, format="json")
    assert response.status_code == 202
    data = response.json()
    assert data["accepted"] == 1
    assert data["errors"][0]["event_id"] == "bad" and detail in data["errors"][0]["detail"]


def test_lone_surrogates_are_item_errors(ingest_client):
    body = orjson.dumps(event("work_approved", customer="X")).replace(b'"X"', b'"\\ud800"')
    response = ingest_client.post(EVENTS, body, content_type="application/json")
    assert "not valid Unicode" in response.json()["errors"][0]["detail"]


def test_nul_characters_are_removed(ingest_client):
    body = event(
        "work_approved", customer="Ac\u0000me", attributes={"note": "a\u0000b", "k\u0000": 1}
    )
    assert post_events(ingest_client, body).json()["accepted"] == 1
    stored = Event.objects.get()
    assert stored.attributes == {"note": "ab", "k": 1}
    assert Transaction.objects.get().customer == "Acme"


@pytest.mark.parametrize("body", ["", "{}"])
def test_an_empty_body_is_400(ingest_client, body):
    assert ingest_client.post(EVENTS, body, content_type="application/json").status_code == 400


def test_an_oversized_events_body_is_413_in_json(ingest_client, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    response = ingest_client.post(
        EVENTS, [event("work_approved", attributes={"x": "y" * 4096})], format="json"
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_a_batch_places_its_new_transaction_whatever_the_order(ingest_client):
    follow_up = event("invoice_generated", hours=1, correlation_id="SOW-ORDER")
    del follow_up["journey"]
    first = event("work_approved", correlation_id="SOW-ORDER")
    assert post_events(ingest_client, [follow_up, first]).json()["accepted"] == 2
    assert Transaction.objects.get().event_count == 2


def test_long_span_attributes_are_cut_to_the_column(client, ingest_key):
    partial = post_spans(client, ingest_key, [stage_span(**{"c2c.region": "R" * 150})])
    assert partial.rejected_spans == 0
    assert Transaction.objects.get().region == "R" * 100


def test_nul_in_spans_is_removed(client, ingest_key):
    span = {**stage_span(**{"note": "a\u0000b"}), "name": "approve\u0000"}
    assert post_spans(client, ingest_key, [span]).rejected_spans == 0
    stored = Span.objects.get()
    assert (stored.name, stored.attributes["note"]) == ("approve", "ab")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"end": nanos(24 * 365 * 80)}, "in the future"),
        ({"status": 7}, "unknown kind or status code"),
    ],
)
def test_implausible_spans_are_rejected_alone(client, ingest_key, change, reason):
    spans = [stage_span(), {**stage_span("eee19b7ec3c1b175"), **change}]
    partial = post_spans(client, ingest_key, spans)
    assert partial.rejected_spans == 1 and reason in partial.error_message
    assert Span.objects.count() == 1


def test_json_times_past_any_clock_are_rejected_spans(client, ingest_key):
    export = json_export([stage_span()])
    export["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = str(10**26)
    response = client.post(
        "/v1/traces",
        orjson.dumps(export),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"


def test_json_integers_past_64_bits_are_400(client, ingest_key):
    export = json_export([stage_span()])
    attrs = export["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    attrs.append({"key": "big", "value": {"intValue": str(2**70)}})
    response = client.post(
        "/v1/traces",
        orjson.dumps(export),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_exports_of_one_trace_at_the_same_time_lose_no_stage(live_server, ingest_key):
    """A child reporting a stage and the root naming the transaction, sent at once."""
    headers = {"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/x-protobuf"}
    for round_ in range(12):
        trace = f"{round_ + 1:032x}"
        child = {
            "trace_id": trace,
            "span_id": "aaaaaaaaaaaaaaa1",
            "end": nanos(1),
            "attributes": {"c2c.stage": "invoice_generated"},
        }
        root = {
            "trace_id": trace,
            "span_id": "bbbbbbbbbbbbbbb1",
            "attributes": {
                "c2c.correlation_id": f"SOW-RACE-{round_}",
                "c2c.journey": "billing",
                "c2c.stage": "work_approved",
            },
        }
        bodies = [pb_export([child]), pb_export([root])]
        threads = [
            threading.Thread(
                target=httpx.post,
                args=(f"{live_server.url}/v1/traces",),
                kwargs={"content": body, "headers": headers},
            )
            for body in bodies
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not Span.objects.filter(correlation_id="").exists()
    stages = set(Transaction.objects.values_list("current_stage__slug", flat=True))
    assert stages == {"invoice_generated"}
    assert Transaction.objects.count() == 12
