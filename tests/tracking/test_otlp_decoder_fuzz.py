"""Hypothesis over the OTLP decoder: random and mutated bodies, protobuf and JSON, decode to
spans or to MalformedExport (a 400), never another exception; and through the receiver,
never a 5xx."""

import json
import os

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tracking.factories import json_export, nanos, pb_export
from tracking.ingest.otlp import MalformedExport, decode_json, decode_protobuf
from tracking.ingest.span_events import label_problem

# C2C_FUZZ_SCALE multiplies the examples for a longer run than the suite's.
SCALE = int(os.environ.get("C2C_FUZZ_SCALE", "1"))
FAST = settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
THROUGH_THE_RECEIVER = settings(
    max_examples=60 * SCALE, deadline=None, suppress_health_check=list(HealthCheck)
)
SPANS = [
    {
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
        "parent": "eee19b7ec3c1b175",
        "end": nanos(0.2),
        "status": 2,
        "message": "ERP timed out",
        "attributes": {
            "c2c.correlation_id": "SOW-FUZZ",
            "c2c.journey": "billing",
            "c2c.stage": "invoice_generated",
            "c2c.amount": 1250.5,
            "c2c.currency": "EUR",
            "retries": 3,
            "cached": False,
        },
    }
]
VALID_PB = pb_export(SPANS)
VALID_JSON = json_export(SPANS)


def decodes_or_refuses(decode, body: bytes) -> None:
    try:
        records = decode(body)
    except MalformedExport:
        return
    for record in records:
        record.problem(latest_end=nanos(10_000))
        label_problem(record.attributes)
        orjson.dumps(record.attributes)  # what the span row stores must serialise


def encode(value: object) -> bytes:
    # The standard library writes what orjson will not (integers past 64 bits, Infinity):
    # a client may send those too.
    return json.dumps(value).encode()


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    body = bytearray(valid)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, max(0, len(body) - 1)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and body:
            body[position] ^= draw(st.integers(1, 255))
        elif action == "insert":
            body[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and body:
            del body[position]
        elif action == "truncate":
            del body[position:]
    return bytes(body)


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from(["\u0000", "c2c.stage", "stringValue", "1e400", "-1"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def reshaped_json(draw) -> bytes:
    """The valid export with one value somewhere replaced by any JSON value."""
    document = orjson.loads(orjson.dumps(VALID_JSON))
    node = document
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()) or not isinstance(node[key], dict | list):
            node[key] = draw(json_values)
            break
        node = node[key]
    return encode(document)


KINDS = ["stringValue", "boolValue", "intValue", "doubleValue", "bytesValue"]
KINDS += ["arrayValue", "kvlistValue", "string_value", "otherValue"]


@st.composite
def odd_attributes(draw) -> bytes:
    """The valid export with a few attributes of any kind holding any JSON value."""
    document = orjson.loads(orjson.dumps(VALID_JSON))
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    keys = st.sampled_from(["note", "c2c.region", "c2c.amount", "c2c.correlation_id", "\u0000"])
    for _ in range(draw(st.integers(1, 3))):
        value = {draw(st.sampled_from(KINDS)): draw(json_values)}
        span["attributes"].append({"key": draw(keys), "value": value})
    return encode(document)


@FAST
@given(odd_attributes())
def test_attributes_of_any_shape_decode_or_are_refused(body):
    decodes_or_refuses(decode_json, body)


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_decode_or_are_refused_as_protobuf(body):
    decodes_or_refuses(decode_protobuf, body)


@FAST
@given(mutated(VALID_PB))
def test_mutated_protobuf_decodes_or_is_refused(body):
    decodes_or_refuses(decode_protobuf, body)


@FAST
@given(json_values)
def test_any_json_decodes_or_is_refused(value):
    decodes_or_refuses(decode_json, encode(value))


@FAST
@given(reshaped_json())
def test_reshaped_otlp_json_decodes_or_is_refused(body):
    decodes_or_refuses(decode_json, body)


@FAST
@given(mutated(orjson.dumps(VALID_JSON)))
def test_mutated_json_text_decodes_or_is_refused(body):
    decodes_or_refuses(decode_json, body)


@pytest.mark.django_db
@THROUGH_THE_RECEIVER
@given(
    st.one_of(
        mutated(VALID_PB).map(lambda b: (b, "application/x-protobuf")),
        reshaped_json().map(lambda b: (b, "application/json")),
        odd_attributes().map(lambda b: (b, "application/json")),
    )
)
def test_the_receiver_answers_200_or_400_to_any_of_them(client, ingest_key, sent):
    body, content_type = sent
    response = client.post(
        "/v1/traces", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {ingest_key}"
    )
    # 200 (partial success counts what was refused), 400 for a body that is no export, or
    # 415 for an empty one (Django's test client then sends no Content-Type).
    assert response.status_code in (200, 400, 415), response.content
    # Refused by validation, with its reason: never by the database, after the fact.
    assert b"cannot be stored" not in response.content
