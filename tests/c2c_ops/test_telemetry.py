"""The app traces itself with opentelemetry-instrumentation-django, but not its receivers."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.tracking.factories import event, pb_export

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def exported():
    # The global provider can be set once per process; the instrumentation's tracers
    # (proxies until now) start recording into it.
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    return memory


def test_api_requests_are_traced_but_the_receivers_are_not(exported, client, read_key, ingest_key):
    exported.clear()
    client.get("/api/v1/transactions", HTTP_AUTHORIZATION=f"Bearer {read_key}")
    client.post(
        "/api/v1/events",
        event("work_approved"),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    span = {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174"}
    response = client.post(
        "/v1/traces",
        pb_export([span]),
        content_type="application/x-protobuf",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 200
    routes = [s.attributes.get("http.route", s.name) for s in exported.get_finished_spans()]
    assert any("transactions" in r for r in routes), routes
    assert not any("traces" in r or "events" in r for r in routes), routes


def test_prometheus_scrapes_are_not_traced(exported, client, read_key):
    exported.clear()
    assert client.get("/metrics").status_code == 200
    client.get("/api/v1/metrics/summary", HTTP_AUTHORIZATION=f"Bearer {read_key}")
    routes = [s.attributes.get("http.route", s.name) for s in exported.get_finished_spans()]
    # The dashboards' /api/v1/metrics/... is traced: only the scrape's path is left out.
    assert routes and all("summary" in r for r in routes), routes
