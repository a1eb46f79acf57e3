"""Send simulated reports the way real flows do: OTLP spans with the stock OpenTelemetry SDK
exporter, status callbacks as JSON over HTTP, each flow with its own API key."""

import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from .scenario import Report

log = logging.getLogger(__name__)
SPAN_BATCH = 512
EVENT_BATCH = 500


@dataclass
class Totals:
    events_sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    spans_sent: int = 0
    span_batches_failed: int = 0
    error_samples: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"events sent {self.events_sent} (accepted {self.accepted}, duplicates "
            f"{self.duplicates}, errors {self.errors}); spans sent {self.spans_sent}"
            + (
                f", span batches failed {self.span_batches_failed}"
                if self.span_batches_failed
                else ""
            )
        )


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


class _Collector(SpanProcessor):
    """Keeps ended spans so they are exported in full batches, none dropped."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


class Delivery:
    def __init__(self, base_url: str, keys: dict[str, str], seed: int = 0, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.rng = random.Random(seed)
        self.totals = Totals()
        self.http = httpx.Client(timeout=timeout)
        self._tracers: dict[str, tuple[trace.Tracer, _Collector, OTLPSpanExporter]] = {}

    def _tracer(self, flow: str) -> tuple[trace.Tracer, _Collector, OTLPSpanExporter]:
        if flow not in self._tracers:
            collector = _Collector()
            provider = TracerProvider(
                resource=Resource.create({"service.name": flow, "c2c.flow": flow})
            )
            provider.add_span_processor(collector)
            exporter = OTLPSpanExporter(
                endpoint=f"{self.base_url}/v1/traces",
                headers={"Authorization": f"Bearer {self.keys[flow]}"},
                timeout=60,
            )
            self._tracers[flow] = (provider.get_tracer("c2c-simulator"), collector, exporter)
        return self._tracers[flow]

    def send(self, reports: list[Report]) -> None:
        """Deliver reports in the given order: events per flow in batches, spans in exports."""
        events: dict[str, list[dict]] = defaultdict(list)
        for report in reports:
            if report.transport == "span":
                if report.status != "started":  # a span reports a stage's outcome
                    self._record_span(report)
            else:
                events[report.flow].append(event_body(report))
        for flow, bodies in events.items():
            for start in range(0, len(bodies), EVENT_BATCH):
                self._post_events(flow, bodies[start : start + EVENT_BATCH])
        self._export_spans()

    def _record_span(self, report: Report) -> None:
        tracer, _, _ = self._tracer(report.flow)
        end = report.occurred_at
        begin = end - timedelta(seconds=self.rng.uniform(0.2, 8))
        attributes = {
            "c2c.correlation_id": report.correlation_id,
            "c2c.journey": report.journey,
            "c2c.stage": report.stage,
            **{f"c2c.{k}": v for k, v in report.dims.items()},
        }
        if report.amount is not None:
            attributes["c2c.amount"] = str(report.amount)
            attributes["c2c.currency"] = report.currency
        if report.system:
            attributes["c2c.system"] = report.system
            attributes["c2c.contract_version"] = report.contract_version
        root = tracer.start_span(
            report.stage.replace("_", " "),
            kind=SpanKind.SERVER,
            start_time=_nanos(begin),
            attributes=attributes,
        )
        context = trace.set_span_in_context(root)
        # The flow's calls to the systems it joins: children carry no c2c attributes and
        # join the transaction through their trace.
        cursor = begin
        for system in ("source", "target"):
            length = (end - begin) / 3
            child = tracer.start_span(
                f"POST /{system}/api",
                kind=SpanKind.CLIENT,
                context=context,
                start_time=_nanos(cursor),
                attributes={"http.request.method": "POST"},
            )
            failed_here = report.status == "failed" and system == "target"
            if failed_here:
                child.set_status(Status(StatusCode.ERROR, report.error_message))
            child.end(end_time=_nanos(cursor + length))
            cursor += length
        if report.status == "failed":
            root.set_attribute("c2c.error_code", report.error_code)
            root.set_status(Status(StatusCode.ERROR, report.error_message))
        else:
            root.set_status(Status(StatusCode.OK))
        root.end(end_time=_nanos(end))

    def _export_spans(self) -> None:
        for _, collector, exporter in self._tracers.values():
            spans, collector.spans = collector.spans, []
            for start in range(0, len(spans), SPAN_BATCH):
                batch = spans[start : start + SPAN_BATCH]
                # The exporter itself retries 5xx answers with backoff, like any flow's SDK.
                if exporter.export(batch) == SpanExportResult.SUCCESS:
                    self.totals.spans_sent += len(batch)
                else:
                    self.totals.span_batches_failed += 1

    def _post_events(self, flow: str, bodies: list[dict]) -> None:
        headers = {"Authorization": f"Bearer {self.keys[flow]}"}
        for attempt in range(8):
            try:
                response = self.http.post(
                    f"{self.base_url}/api/v1/events", json=bodies, headers=headers
                )
            except httpx.TransportError as exc:
                log.warning("events POST failed (%s), retrying", type(exc).__name__)
            else:
                if response.status_code == 202:
                    data = response.json()
                    self.totals.events_sent += len(bodies)
                    self.totals.accepted += data["accepted"]
                    self.totals.duplicates += data["duplicates"]
                    self.totals.errors += len(data["errors"])
                    for error in data["errors"][: 5 - len(self.totals.error_samples)]:
                        self.totals.error_samples.append(f"{error['event_id']}: {error['detail']}")
                    return
                if response.status_code < 500 and response.status_code != 429:
                    raise RuntimeError(
                        f"events refused: {response.status_code} {response.text[:300]}"
                    )
            time.sleep(min(30.0, 0.5 * 2**attempt))
        raise RuntimeError("events could not be delivered after 8 attempts")

    def close(self) -> Totals:
        self._export_spans()
        for _, _, exporter in self._tracers.values():
            exporter.shutdown()
        self.http.close()
        return self.totals


def event_body(report: Report) -> dict:
    """The events-API item a flow sends for this report."""
    body = {
        "event_id": report.event_id,
        "correlation_id": report.correlation_id,
        "journey": report.journey,
        "stage": report.stage,
        "status": report.status,
        "occurred_at": report.occurred_at.isoformat(),
        **report.dims,
    }
    if report.amount is not None:
        body["amount"] = str(report.amount)
        body["currency"] = report.currency
    if report.error_code:
        body["error"] = {"code": report.error_code, "message": report.error_message}
    if report.system:
        body["system"] = report.system
        body["contract_version"] = report.contract_version
    return body
