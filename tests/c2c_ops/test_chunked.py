"""Bodies sent with Transfer-Encoding: chunked (no Content-Length) are read whole, under
gunicorn as deployed; the size limit still holds while reading."""

import http.client
import io
import time

import orjson
import pytest
from django.db import connection
from django.test import override_settings

from c2c_ops.chunked import ChunkedBodies
from tests.server import AppServer
from tests.tracking.factories import event, pb_export
from tracking.models import Event, Span


def test_a_chunked_body_gets_a_length_and_stays_within_the_limit():
    seen = {}

    def app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        return []

    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"x" * 5000)}
    with override_settings(INGEST_MAX_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=1024):
        ChunkedBodies(app)(environ, None)
    assert seen == {"length": "2049", "body": b"x" * 2049}  # one past: the view says 413


def test_a_body_with_a_length_is_left_to_django():
    stream = io.BytesIO(b"abc")
    environ = {"CONTENT_LENGTH": "3", "wsgi.input": stream}
    ChunkedBodies(lambda env, _: [])(environ, None)
    assert environ["wsgi.input"] is stream


@pytest.fixture
def server():
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    with AppServer(url, INGEST_MAX_BODY_BYTES="65536") as app:
        yield app


def post_chunked(server: AppServer, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", path)
    for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
        conn.putheader(name, value)
    conn.endheaders()
    for start in range(0, len(body), 1000):
        part = body[start : start + 1000]
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    conn.send(b"0\r\n\r\n")
    response = conn.getresponse()
    return response.status, response.read()


def span(i: int) -> dict:
    end = time.time_ns() - 10**9
    return {
        "trace_id": f"{i + 1:032x}",
        "span_id": f"{i + 1:016x}",
        "start": end - 10**6,
        "end": end,
        "attributes": {
            "c2c.correlation_id": f"SOW-CHUNKED-{i}",
            "c2c.journey": "billing",
            "c2c.stage": "work_approved",
        },
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_chunked_exports_and_events_land_under_gunicorn(server, ingest_key):
    auth = {"Authorization": f"Bearer {ingest_key}"}
    status, _ = post_chunked(
        server,
        "/v1/traces",
        pb_export([span(i) for i in range(20)]),
        {**auth, "Content-Type": "application/x-protobuf"},
    )
    assert status == 200
    assert Span.objects.count() == 20

    garbage = post_chunked(
        server, "/v1/traces", b"\xff" * 300, {**auth, "Content-Type": "application/x-protobuf"}
    )
    assert garbage[0] == 400

    events = orjson.dumps([event("work_approved", correlation_id="SOW-CHUNKED-EV")])
    status, body = post_chunked(
        server, "/api/v1/events", events, {**auth, "Content-Type": "application/json"}
    )
    assert (status, orjson.loads(body)["accepted"]) == (202, 1)
    assert Event.objects.filter(transaction__correlation_id="SOW-CHUNKED-EV").exists()

    status, body = post_chunked(
        server,
        "/v1/traces",
        pb_export([span(i) for i in range(100, 600)]),  # past the server's 64 KiB
        {**auth, "Content-Type": "application/x-protobuf"},
    )
    assert status == 413
    assert b"65536-byte limit" in body
    assert Span.objects.count() == 20
