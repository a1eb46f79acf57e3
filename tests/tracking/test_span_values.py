"""c2c.* attributes a span cannot carry are that span's rejection (OTLP partial success),
in protobuf and JSON alike; the export's other spans land."""

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.tracking.factories import json_export, pb_export
from tracking.models import Span, Transaction

pytestmark = pytest.mark.django_db
URL = "/v1/traces"
TRACE = "5b8efff798038103d269b633813fc60c"
OTHER_TRACE = "6c9f0008a9149214e37ac744924ed71d"


def spans_with(**attrs) -> list[dict]:
    good = {
        "trace_id": OTHER_TRACE,
        "span_id": "aaaaaaaaaaaaaaa1",
        "attributes": {
            "c2c.correlation_id": "SOW-GOOD",
            "c2c.journey": "billing",
            "c2c.stage": "work_approved",
        },
    }
    bad = {
        "trace_id": TRACE,
        "span_id": "bbbbbbbbbbbbbbb1",
        "attributes": {
            "c2c.correlation_id": "SOW-BAD",
            "c2c.journey": "billing",
            "c2c.stage": "work_approved",
            **attrs,
        },
    }
    return [good, bad]


def export(client, key, spans, encoding):
    if encoding == "protobuf":
        body, content_type = pb_export(spans), "application/x-protobuf"
    else:
        body, content_type = orjson.dumps(json_export(spans)), "application/json"
    response = client.post(URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    if encoding == "protobuf":
        reply = ExportTraceServiceResponse()
        reply.ParseFromString(response.content)
        return reply.partial_success.rejected_spans, reply.partial_success.error_message
    partial = response.json().get("partialSuccess", {})
    return int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("amount", ["1e26", "1e400", 1e308, "1" * 28])
def test_an_amount_past_the_column_rejects_its_span(client, ingest_key, encoding, amount):
    rejected, message = export(client, ingest_key, spans_with(**{"c2c.amount": amount}), encoding)
    assert rejected == 1
    assert "c2c.amount" in message and "larger than the ledger holds" in message
    assert list(Transaction.objects.values_list("correlation_id", flat=True)) == ["SOW-GOOD"]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_a_correlation_id_too_long_is_refused_not_cut(client, ingest_key, encoding):
    long_id = "SOW-" + "9" * 197
    rejected, message = export(
        client, ingest_key, spans_with(**{"c2c.correlation_id": long_id}), encoding
    )
    assert rejected == 1
    assert "c2c.correlation_id is longer than 200 characters" in message
    assert not Span.objects.filter(trace_id=TRACE).exists()


def test_an_integer_id_is_read_as_text(client, ingest_key):
    rejected, _ = export(client, ingest_key, spans_with(**{"c2c.correlation_id": 42}), "protobuf")
    assert rejected == 0
    assert Transaction.objects.filter(correlation_id="42").exists()


def json_attribute(key: str, value: dict) -> bytes:
    body = json_export(spans_with())
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    span["attributes"].append({"key": key, "value": value})
    return orjson.dumps(body)


@pytest.mark.parametrize(
    "value",
    [
        {"kvlistValue": {"values": [{"key": "a", "value": {"stringValue": "b"}}]}},
        {"arrayValue": {"values": [{"stringValue": "x"}]}},
        {"boolValue": True},
    ],
)
def test_a_c2c_label_that_is_not_text_rejects_its_span(client, ingest_key, value):
    response = client.post(
        URL,
        json_attribute("c2c.region", value),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1  # int64: a string in proto3 JSON
    assert "c2c.region must be a string" in partial["errorMessage"]
    assert not Transaction.objects.filter(region__startswith="{").exists()


@pytest.mark.parametrize(
    "value",
    [
        {"stringValue": {"nested": "a\u0000b"}},
        {"stringValue": ["a\u0000b"]},
        {"boolValue": "a\u0000b"},
        {"bytesValue": {"x": "a\u0000b"}},
        {"doubleValue": {"x": 1}},
        {"arrayValue": "a\u0000b"},
        {"kvlistValue": ["a\u0000b"]},
    ],
)
def test_a_value_of_the_wrong_json_type_is_a_clear_400(client, ingest_key, value):
    response = client.post(
        URL,
        json_attribute("note", value),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "must be" in message or "is not" in message
    assert "unsupported Unicode" not in message and "jsonb" not in message
    assert not Span.objects.exists()


def test_nul_in_a_bytes_value_is_removed(client, ingest_key):
    response = client.post(
        URL,
        json_attribute("note", {"bytesValue": "YQ\u0000=="}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 200
    assert Span.objects.get(trace_id=TRACE).attributes["note"] == "YQ=="
