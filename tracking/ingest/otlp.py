"""Decode OTLP/HTTP trace exports (protobuf or JSON) into flat span records.

OTLP/JSON is not the protobuf JSON mapping: trace and span ids are hex strings there, where
a stock ``json_format.Parse`` would read them as base64 and silently store other ids. So
JSON is walked by hand (with orjson), and both encodings yield the same ``SpanRecord``.
"""

import base64
from dataclasses import dataclass

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

C2C_PREFIX = "c2c."
ZERO_TRACE = "0" * 32
ZERO_SPAN = "0" * 16
MAX_NAME = 500
MAX_SERVICE = 200
MAX_KIND = 5  # SPAN_KIND_CONSUMER
MAX_STATUS = 2  # STATUS_CODE_ERROR
INT64 = (-(2**63), 2**63 - 1)
HEX = frozenset("0123456789abcdef")


class MalformedExport(ValueError):
    """The body is not an OTLP trace export at all: the whole request is refused (400)."""


@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    service_name: str
    start_nanos: int
    end_nanos: int
    status_code: int
    status_message: str
    attributes: dict

    def problem(self, latest_end: int) -> str:
        """Why this span cannot be stored, or an empty string.

        ``latest_end``: the latest plausible end time (now plus the clock skew allowed), in
        Unix nanoseconds; a span from a clock far ahead would pin the ledger in the future.
        """
        # Ids are lowercase hex here (JSON ids that were not hex became "", see _hex_id).
        if len(self.trace_id) != 32 or self.trace_id == ZERO_TRACE:
            return f"span {self.span_id or '?'}: trace_id must be 16 non-zero bytes"
        if len(self.span_id) != 16 or self.span_id == ZERO_SPAN:
            return f"span in trace {self.trace_id}: span_id must be 8 non-zero bytes"
        if self.parent_span_id and len(self.parent_span_id) != 16:
            return f"span {self.span_id}: parent_span_id must be 8 bytes"
        if self.start_nanos <= 0 or self.end_nanos <= 0:
            return f"span {self.span_id}: start and end times are required"
        if self.end_nanos < self.start_nanos:
            return f"span {self.span_id}: ends before it starts"
        if self.end_nanos > latest_end:
            return f"span {self.span_id}: ends more than an hour in the future"
        if not (0 <= self.kind <= MAX_KIND and 0 <= self.status_code <= MAX_STATUS):
            return f"span {self.span_id}: unknown kind or status code"
        return ""


def _service(resource: dict) -> str:
    # service.name is a string by the semantic conventions; anything else names no service.
    name = resource.get("service.name", "")
    return name[:MAX_SERVICE] if isinstance(name, str) else ""


def _with_resource(span_attrs: dict, resource: dict) -> dict:
    # c2c.* attributes of the resource apply to each span, the span's own winning.
    for key, value in resource.items():
        if key.startswith(C2C_PREFIX) and key not in span_attrs:
            span_attrs[key] = value
    return span_attrs


# --- protobuf ---------------------------------------------------------------------------------


def _text(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL, which protobuf strings may carry.
    return value.replace("\x00", "") if "\x00" in value else value


def _pb_value(value):
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        return text if "\x00" not in text else text.replace("\x00", "")  # inlined _text
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {_text(kv.key): _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _pb_attributes(attributes) -> dict:
    return {_pb_key(kv.key): _pb_value(kv.value) for kv in attributes}


def _pb_key(key: str) -> str:
    return key if "\x00" not in key else key.replace("\x00", "")


def decode_protobuf(body: bytes) -> list[SpanRecord]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedExport(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from exc
    records = []
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        service = _service(resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        _text(span.name[:MAX_NAME]),
                        span.kind,
                        service,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        span.status.code,
                        _text(span.status.message),
                        _with_resource(_pb_attributes(span.attributes), resource),
                    )
                )
    return records


# --- JSON -------------------------------------------------------------------------------------


def _get(obj: dict, camel: str, snake: str, default=None):
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


def _json_value(value: object) -> object:
    """One AnyValue. Each kind must carry its own JSON type: a map where a string belongs
    would be stored as it is, NUL characters and all, past the checks strings get."""
    if not isinstance(value, dict):
        raise MalformedExport("attribute value must be an AnyValue object")
    if "stringValue" in value or "string_value" in value:
        return _json_text(_get(value, "stringValue", "string_value", ""), "stringValue")
    if "boolValue" in value or "bool_value" in value:
        flag = _get(value, "boolValue", "bool_value", False)
        if not isinstance(flag, bool):
            raise MalformedExport(f"boolValue {flag!r} is not true or false")
        return flag
    if "intValue" in value or "int_value" in value:
        number = _int(_get(value, "intValue", "int_value"), "intValue")
        if not INT64[0] <= number <= INT64[1]:
            raise MalformedExport(f"intValue {number} does not fit in 64 bits")
        return number
    if "doubleValue" in value or "double_value" in value:
        raw = _get(value, "doubleValue", "double_value")
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise MalformedExport(f"doubleValue {raw!r} is not a number")
        try:
            return float(raw)
        except (TypeError, ValueError) as exc:
            raise MalformedExport(f"doubleValue {raw!r} is not a number") from exc
    if "arrayValue" in value or "array_value" in value:
        inner = _object(_get(value, "arrayValue", "array_value", {}), "arrayValue")
        return [_json_value(v) for v in _list(inner.get("values"))]
    if "kvlistValue" in value or "kvlist_value" in value:
        inner = _object(_get(value, "kvlistValue", "kvlist_value", {}), "kvlistValue")
        return _json_attributes(inner.get("values"))
    if "bytesValue" in value or "bytes_value" in value:
        return _json_text(_get(value, "bytesValue", "bytes_value", ""), "bytesValue")
    return None


def _json_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedExport(f"{name} must be a JSON string")
    return _text(value)


def _object(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedExport(f"{name} must be a JSON object")
    return value


def _list(value: object) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedExport("expected a JSON array")
    return value


def _json_attributes(attributes: object) -> dict:
    result = {}
    for item in _list(attributes):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise MalformedExport("each attribute must be an object with a string key")
        result[_text(item["key"])] = _json_value(item.get("value") or {})
    return result


def _int(value: object, name: str) -> int:
    # proto3 JSON writes 64-bit integers as strings; numbers are accepted too.
    if isinstance(value, bool):
        raise MalformedExport(f"{name} must be an integer")
    try:
        return int(value or 0)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise MalformedExport(f"{name} {value!r} is not an integer") from exc


def _hex_id(value: object, name: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise MalformedExport(f"{name} must be a hex string")
    value = value.lower()
    # Not hex (e.g. base64 from a protobuf JSON mapper): treated as missing, so the span is
    # rejected by SpanRecord.problem() with the others' reasons, not the whole export.
    return value if HEX.issuperset(value) else ""


def decode_json(body: bytes) -> list[SpanRecord]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedExport(f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedExport("an OTLP/JSON export is a JSON object with resourceSpans")
    records = []
    try:
        for resource_spans in _list(_get(document, "resourceSpans", "resource_spans")):
            resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes"))
            service = _service(resource)
            for scope_spans in _list(_get(resource_spans, "scopeSpans", "scope_spans")):
                for span in _list(scope_spans.get("spans")):
                    status = span.get("status") or {}
                    records.append(
                        SpanRecord(
                            _hex_id(_get(span, "traceId", "trace_id"), "traceId"),
                            _hex_id(_get(span, "spanId", "span_id"), "spanId"),
                            _hex_id(_get(span, "parentSpanId", "parent_span_id"), "parentSpanId"),
                            _json_text(span.get("name") or "", "name")[:MAX_NAME],
                            _int(span.get("kind", 0), "kind"),
                            service,
                            _int(_get(span, "startTimeUnixNano", "start_time_unix_nano"), "time"),
                            _int(_get(span, "endTimeUnixNano", "end_time_unix_nano"), "time"),
                            _int(status.get("code", 0), "status.code"),
                            _json_text(status.get("message") or "", "status.message"),
                            _with_resource(_json_attributes(span.get("attributes")), resource),
                        )
                    )
    except AttributeError as exc:
        # A list or a string where the format has an object.
        raise MalformedExport("the export does not have the OTLP/JSON shape") from exc
    return records


def decode(body: bytes, content_type: str) -> list[SpanRecord]:
    if content_type == "application/x-protobuf":
        return decode_protobuf(body)
    return decode_json(body)


__all__ = ["MalformedExport", "SpanRecord", "decode"]
