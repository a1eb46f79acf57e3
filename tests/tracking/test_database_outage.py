"""With the database gone, ingest answers 503 + Retry-After; the SDK retries; nothing is lost."""

import threading
import time

import httpx
import pytest
from django.db import connection
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.proxy import TcpProxy
from tests.server import AppServer
from tests.tracking.factories import event, pb_export
from tracking.models import Event, Span, Transaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
SPAN = {
    "trace_id": "5b8efff798038103d269b633813fc60c",
    "span_id": "eee19b7ec3c1b174",
    "attributes": {
        "c2c.correlation_id": "SOW-OUT-1",
        "c2c.journey": "billing",
        "c2c.stage": "work_approved",
    },
}


@pytest.fixture
def proxied_server():
    settings = connection.settings_dict
    proxy = TcpProxy(int(settings["PORT"] or 5432), settings["HOST"] or "127.0.0.1")
    proxy.start()
    url = f"postgres://{settings['USER']}@127.0.0.1:{proxy.port}/{settings['NAME']}"
    with AppServer(url) as server:
        yield server, proxy
    proxy.stop()


def test_ingest_answers_503_with_retry_after_while_the_database_is_down(proxied_server, ingest_key):
    server, proxy = proxied_server
    headers = {"Authorization": f"Bearer {ingest_key}"}
    up = httpx.post(
        f"{server.url}/api/v1/events", json=event("work_approved", event_id="a"), headers=headers
    )
    assert up.status_code == 202

    proxy.stop()
    down = httpx.post(
        f"{server.url}/api/v1/events",
        json=event("invoice_generated", event_id="b"),
        headers=headers,
    )
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    otlp = httpx.post(
        f"{server.url}/v1/traces",
        content=pb_export([SPAN]),
        headers={**headers, "Content-Type": "application/x-protobuf"},
    )
    assert (otlp.status_code, otlp.headers["Retry-After"]) == (503, "5")
    assert httpx.get(f"{server.url}/readyz").status_code == 503
    assert httpx.get(f"{server.url}/healthz").status_code == 200

    proxy.start()
    again = httpx.post(
        f"{server.url}/api/v1/events",
        json=event("invoice_generated", event_id="b"),
        headers=headers,
    )
    assert again.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert set(Event.objects.values_list("event_id", flat=True)) == {"a", "b"}
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_the_sdk_exporter_retries_through_an_outage(proxied_server, ingest_key):
    server, proxy = proxied_server
    proxy.stop()
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces",
        headers={"Authorization": f"Bearer {ingest_key}"},
        timeout=30,
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The database comes back while the exporter is backing off.
    threading.Timer(2.5, proxy.start).start()
    started = time.monotonic()
    with provider.get_tracer("t").start_as_current_span("approve work") as span:
        span.set_attribute("c2c.correlation_id", "SOW-OUT-2")
        span.set_attribute("c2c.journey", "billing")
        span.set_attribute("c2c.stage", "work_approved")
    provider.shutdown()
    assert time.monotonic() - started >= 2  # it did have to wait
    assert Span.objects.get().correlation_id == "SOW-OUT-2"
    assert Transaction.objects.get().current_stage.slug == "work_approved"
