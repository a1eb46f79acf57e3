import gzip

import orjson
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.conftest import make_key
from tests.tracking.factories import json_export, nanos, pb_export
from tracking.models import Event, Span, Transaction

URL = "/v1/traces"
PB = "application/x-protobuf"
JSON = "application/json"
TRACE = "5b8efff798038103d269b633813fc60c"
pytestmark = pytest.mark.django_db


def stage_span(span_id: str, stage: str, trace: str = TRACE, **attrs) -> dict:
    attributes = {
        "c2c.correlation_id": "SOW-2026-0042",
        "c2c.journey": "billing",
        "c2c.stage": stage,
        **attrs,
    }
    return {"trace_id": trace, "span_id": span_id, "attributes": attributes}


def send(client, body: bytes, content_type: str = PB, key: str | None = None, **headers):
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.post(URL, body, content_type=content_type, **headers)


def pb_reply(response) -> ExportTraceServiceResponse:
    message = ExportTraceServiceResponse()
    message.ParseFromString(response.content)
    return message


def test_protobuf_export_lands_in_the_ledger(client, ingest_key, flow):
    body = pb_export(
        [
            stage_span(
                "eee19b7ec3c1b174",
                "work_approved",
                **{"c2c.amount": 1500.25, "c2c.currency": "GBP"},
            )
        ]
    )
    response = send(client, body, key=ingest_key)
    assert response.status_code == 200
    assert response["Content-Type"] == PB
    assert not pb_reply(response).HasField("partial_success")
    span = Span.objects.get()
    assert (span.trace_id, span.span_id, span.service_name, span.flow) == (
        TRACE,
        "eee19b7ec3c1b174",
        "psa",
        flow,
    )
    txn = Transaction.objects.get()
    assert (txn.current_stage.slug, str(txn.amount), txn.currency) == (
        "work_approved",
        "1500.25",
        "GBP",
    )
    assert Event.objects.get().event_id == f"span:{TRACE}:eee19b7ec3c1b174"


def test_json_export_reads_ids_as_hex(client, ingest_key):
    body = orjson.dumps(json_export([stage_span("eee19b7ec3c1b174", "work_approved")]))
    response = send(client, body, JSON, key=ingest_key)
    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    assert response.json() == {}
    span = Span.objects.get()
    # A protobuf JSON parser would have read these as base64 and stored other bytes.
    assert (span.trace_id, span.span_id) == (TRACE, "eee19b7ec3c1b174")


def test_gzip_bodies_are_inflated(client, ingest_key):
    body = gzip.compress(pb_export([stage_span("eee19b7ec3c1b174", "work_approved")]))
    response = send(client, body, key=ingest_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert Span.objects.count() == 1


def test_error_status_is_a_failed_stage(client, ingest_key):
    spans = [
        stage_span("eee19b7ec3c1b174", "work_approved"),
        {
            **stage_span("eee19b7ec3c1b175", "invoice_generated", **{"c2c.error_code": "TAX-404"}),
            "status": 2,
            "message": "tax code missing",
            "end": nanos(2),
        },
    ]
    send(client, pb_export(spans), key=ingest_key)
    txn = Transaction.objects.get()
    assert (txn.status, txn.current_stage.slug, txn.error_code, txn.error_message) == (
        "failed",
        "invoice_generated",
        "TAX-404",
        "tax code missing",
    )


def test_resource_attributes_apply_to_every_span(client, ingest_key):
    resource = {
        "service.name": "erp-connector",
        "c2c.region": "APAC",
        "c2c.business_unit": "Advisory",
    }
    send(
        client,
        pb_export([stage_span("eee19b7ec3c1b174", "work_approved")], resource),
        key=ingest_key,
    )
    txn = Transaction.objects.get()
    assert (txn.region, txn.business_unit) == ("APAC", "Advisory")


def test_child_spans_join_their_traces_transaction_in_the_same_export(client, ingest_key):
    child = {
        "trace_id": TRACE,
        "span_id": "aaaaaaaaaaaaaaa1",
        "parent": "eee19b7ec3c1b174",
        "attributes": {"http.method": "POST"},
    }
    send(
        client, pb_export([child, stage_span("eee19b7ec3c1b174", "work_approved")]), key=ingest_key
    )
    assert set(Span.objects.values_list("correlation_id", flat=True)) == {"SOW-2026-0042"}


def test_child_spans_join_a_transaction_stored_earlier(client, ingest_key):
    send(client, pb_export([stage_span("eee19b7ec3c1b174", "work_approved")]), key=ingest_key)
    child = {"trace_id": TRACE, "span_id": "aaaaaaaaaaaaaaa1", "attributes": {}}
    send(client, pb_export([child]), key=ingest_key)
    assert Span.objects.get(span_id="aaaaaaaaaaaaaaa1").correlation_id == "SOW-2026-0042"


def test_orphans_are_adopted_when_their_trace_names_the_transaction_later(client, ingest_key):
    # A stage span without the correlation attribute arrives first (children end first).
    orphan = {
        "trace_id": TRACE,
        "span_id": "aaaaaaaaaaaaaaa1",
        "end": nanos(1),
        "attributes": {"c2c.journey": "billing", "c2c.stage": "invoice_generated"},
    }
    send(client, pb_export([orphan]), key=ingest_key)
    assert Span.objects.get().correlation_id == ""
    assert not Transaction.objects.exists()
    send(client, pb_export([stage_span("eee19b7ec3c1b174", "work_approved")]), key=ingest_key)
    assert Span.objects.get(span_id="aaaaaaaaaaaaaaa1").correlation_id == "SOW-2026-0042"
    txn = Transaction.objects.get()
    assert (txn.current_stage.slug, txn.event_count) == ("invoice_generated", 2)


def test_invalid_spans_are_rejected_with_partial_success(client, ingest_key):
    spans = [
        stage_span("eee19b7ec3c1b174", "work_approved"),
        {"trace_id": "0" * 32, "span_id": "eee19b7ec3c1b175"},
        stage_span("eee19b7ec3c1b176", "invoice_generated", **{"c2c.amount": "lots"}),
    ]
    response = send(client, pb_export(spans), key=ingest_key)
    assert response.status_code == 200
    partial = pb_reply(response).partial_success
    assert partial.rejected_spans == 2
    assert "trace_id must be 16 non-zero bytes" in partial.error_message
    assert "c2c.amount 'lots' is not a number" in partial.error_message
    assert list(Span.objects.values_list("span_id", flat=True)) == ["eee19b7ec3c1b174"]


def test_json_partial_success_is_reported_in_json(client, ingest_key):
    spans = [{"trace_id": "xyz", "span_id": "eee19b7ec3c1b175"}]
    response = send(client, orjson.dumps(json_export(spans)), JSON, key=ingest_key)
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"


def test_duplicate_spans_are_stored_and_counted_once(client, ingest_key):
    body = pb_export([stage_span("eee19b7ec3c1b174", "work_approved", **{"c2c.amount": 10})])
    for _ in range(3):
        assert send(client, body, key=ingest_key).status_code == 200
    assert (Span.objects.count(), Event.objects.count()) == (1, 1)
    assert Transaction.objects.get().event_count == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xff\xff garbage", PB),
        (b"{not json", JSON),
        (b'{"resourceSpans": "x"}', JSON),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            JSON,
        ),
    ],
)
def test_malformed_bodies_are_400_so_the_sdk_does_not_retry(client, ingest_key, body, content_type):
    response = send(client, body, content_type, key=ingest_key)
    assert response.status_code == 400
    assert not Span.objects.exists()


def test_error_bodies_are_status_messages_in_the_request_encoding(client, ingest_key):
    response = send(client, b"\xff\xff\xff", key=ingest_key)
    status = Status()
    status.ParseFromString(response.content)
    assert status.code == 3 and "protobuf" in status.message


def test_truncated_gzip_is_400(client, ingest_key):
    body = gzip.compress(pb_export([stage_span("eee19b7ec3c1b174", "work_approved")]))[:-12]
    assert send(client, body, key=ingest_key, HTTP_CONTENT_ENCODING="gzip").status_code == 400


def test_bodies_past_the_limit_are_413(client, ingest_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    assert send(client, b"\x00" * 4096, key=ingest_key).status_code == 413


def test_gzip_bombs_are_413(client, ingest_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 4096
    bomb = gzip.compress(b"\x00" * 1_000_000)  # ~1 KB on the wire, 1 MB inflated
    assert len(bomb) < 4096
    assert send(client, bomb, key=ingest_key, HTTP_CONTENT_ENCODING="gzip").status_code == 413


def test_other_media_types_are_415(client, ingest_key):
    assert send(client, b"x", "text/plain", key=ingest_key).status_code == 415
    assert send(client, b"x", key=ingest_key, HTTP_CONTENT_ENCODING="br").status_code == 415


def test_missing_or_bad_keys_are_401(client):
    body = pb_export([stage_span("eee19b7ec3c1b174", "work_approved")])
    assert send(client, body).status_code == 401
    response = send(client, body, key="abc.def")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Span.objects.exists()


def test_a_key_without_the_ingest_scope_is_403(client, flow):
    body = pb_export([stage_span("eee19b7ec3c1b174", "work_approved")])
    assert send(client, body, key=make_key(flow, "read", "operate")).status_code == 403


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405
