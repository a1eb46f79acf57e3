"""The app's own tracing (opentelemetry-instrumentation-django).

Requests are instrumented always; spans are exported only when an OTLP endpoint is set with
the standard OTEL_EXPORTER_OTLP_* variables. The receiver (/v1/traces) and the probes are
never traced: tracing the receiver would feed the app its own spans in a loop.
"""

import logging

from django.conf import settings

log = logging.getLogger(__name__)
_done = False


def instrument() -> None:
    global _done
    if _done:
        return
    _done = True
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    if settings.OTEL_EXPORT_ENABLED:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "c2c-ops"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        log.info("exporting the app's own traces over OTLP")
    DjangoInstrumentor().instrument(excluded_urls=settings.OTEL_EXCLUDED_URLS)
