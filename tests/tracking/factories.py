"""Small builders for event payloads and OTLP exports used across the tracking tests."""

import itertools
from datetime import UTC, datetime, timedelta

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

_ids = itertools.count(1)
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(hours: float = 0) -> str:
    return (BASE + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def event(stage: str, status: str = "succeeded", hours: float = 0, **extra) -> dict:
    payload = {
        "event_id": extra.pop("event_id", f"evt-{next(_ids)}"),
        "correlation_id": extra.pop("correlation_id", "SOW-2026-0042"),
        "journey": extra.pop("journey", "billing"),
        "stage": stage,
        "status": status,
        "occurred_at": extra.pop("occurred_at", at(hours)),
    }
    payload.update(extra)
    return payload


def nanos(hours: float = 0) -> int:
    return int((BASE + timedelta(hours=hours)).timestamp() * 1_000_000_000)


def _value(value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def pb_export(spans: list[dict], resource: dict | None = None) -> bytes:
    """A protobuf ExportTraceServiceRequest; each span dict has hex ids and c2c attributes."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (resource or {"service.name": "psa"}).items():
        resource_spans.resource.attributes.append(KeyValue(key=key, value=_value(value)))
    scope = resource_spans.scope_spans.add()
    for spec in spans:
        span = scope.spans.add()
        span.trace_id = bytes.fromhex(spec["trace_id"])
        span.span_id = bytes.fromhex(spec["span_id"])
        if spec.get("parent"):
            span.parent_span_id = bytes.fromhex(spec["parent"])
        span.name = spec.get("name", "stage")
        span.start_time_unix_nano = spec.get("start", nanos(0))
        span.end_time_unix_nano = spec.get("end", nanos(0.1))
        span.status.code = spec.get("status", 1)
        span.status.message = spec.get("message", "")
        for key, value in spec.get("attributes", {}).items():
            span.attributes.append(KeyValue(key=key, value=_value(value)))
    return request.SerializeToString()


def json_export(spans: list[dict], resource: dict | None = None) -> dict:
    """The same as OTLP/JSON: hex ids, integer enums, 64-bit integers as strings."""

    def attrs(values: dict) -> list[dict]:
        out = []
        for key, value in values.items():
            if isinstance(value, bool):
                out.append({"key": key, "value": {"boolValue": value}})
            elif isinstance(value, int):
                out.append({"key": key, "value": {"intValue": str(value)}})
            elif isinstance(value, float):
                out.append({"key": key, "value": {"doubleValue": value}})
            else:
                out.append({"key": key, "value": {"stringValue": str(value)}})
        return out

    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(resource or {"service.name": "psa"})},
                "scopeSpans": [
                    {
                        "scope": {"name": "tests"},
                        "spans": [
                            {
                                "traceId": s["trace_id"],
                                "spanId": s["span_id"],
                                "parentSpanId": s.get("parent", ""),
                                "name": s.get("name", "stage"),
                                "kind": 1,
                                "startTimeUnixNano": str(s.get("start", nanos(0))),
                                "endTimeUnixNano": str(s.get("end", nanos(0.1))),
                                "status": {
                                    "code": s.get("status", 1),
                                    "message": s.get("message", ""),
                                },
                                "attributes": attrs(s.get("attributes", {})),
                            }
                            for s in spans
                        ],
                    }
                ],
            }
        ]
    }
