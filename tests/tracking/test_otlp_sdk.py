"""The stock OpenTelemetry SDK exporter, configured as DESIGN.md tells integrators to."""

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tracking.models import Span, Transaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def run_flow(exporter: OTLPSpanExporter, correlation_id: str) -> None:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "psa-connector", "c2c.region": "EMEA"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("c2c-tests")
    with tracer.start_as_current_span("approve work") as span:
        span.set_attribute("c2c.correlation_id", correlation_id)
        span.set_attribute("c2c.journey", "billing")
        span.set_attribute("c2c.stage", "work_approved")
        span.set_attribute("c2c.amount", 4200.0)
        span.set_attribute("c2c.currency", "EUR")
        with tracer.start_as_current_span("POST /psa/approvals"):
            pass
    with tracer.start_as_current_span("generate invoice") as span:
        span.set_attribute("c2c.correlation_id", correlation_id)
        span.set_attribute("c2c.stage", "invoice_generated")
        span.set_status(Status(StatusCode.ERROR, "rate card missing"))
    assert provider.force_flush(10_000)
    provider.shutdown()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_exporter_spans_reach_the_ledger(live_server, ingest_key, compression):
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}/v1/traces",
        headers={"Authorization": f"Bearer {ingest_key}"},
        compression=compression,
    )
    run_flow(exporter, "SOW-SDK-1")
    assert Span.objects.count() == 3
    assert set(Span.objects.values_list("correlation_id", flat=True)) == {"SOW-SDK-1"}
    txn = Transaction.objects.get(correlation_id="SOW-SDK-1")
    assert (txn.status, txn.current_stage.slug, txn.error_message) == (
        "failed",
        "invoice_generated",
        "rate card missing",
    )
    assert (str(txn.amount), txn.currency, txn.region) == ("4200.00", "EUR", "EMEA")


def test_sdk_configured_by_environment_variables(live_server, ingest_key, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{live_server.url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{ingest_key}")
    run_flow(OTLPSpanExporter(), "SOW-SDK-ENV")
    assert Transaction.objects.filter(correlation_id="SOW-SDK-ENV").exists()


def test_sdk_with_a_bad_key_stores_nothing(live_server):
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}/v1/traces", headers={"Authorization": "Bearer no.pe"}
    )
    run_flow(exporter, "SOW-SDK-2")
    assert not Span.objects.exists()
