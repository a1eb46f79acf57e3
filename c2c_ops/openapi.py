"""What drf-spectacular cannot see, added to the OpenAPI document after it is generated.

- The answers every operation can give besides its success (bad input, no key, a scope
  missing, unknown ids, a database that cannot be reached): clients and schema-driven tests
  must not meet an answer the document does not name.
- ``POST /v1/traces``: the OTLP/HTTP receiver is a plain Django view, outside DRF.
- ``POST /api/v1/events`` takes one event object or a list of 1 to 1,000.
"""

from typing import Any

ERROR = {
    "type": "object",
    "description": (
        "What was wrong: `detail` for the request as a whole, or one list of messages "
        "per field or parameter that was refused."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Answers that any operation may give, with what they mean here.
COMMON = {
    "401": "No API key or session, or the key is unknown, revoked or expired.",
    "403": "The key lacks the scope, or the user the role, this operation needs.",
    "503": "The database cannot be reached or a write stayed contended: retry after the "
    "Retry-After header's seconds. Nothing was recorded.",
}
WITH_INPUT = {
    "400": "A parameter or the body cannot be read or is refused; the answer says which.",
    "414": "The request line is longer than the server reads (gunicorn: 4,094 bytes).",
}
WITH_BODY = {"415": "The body is not JSON (Content-Type: application/json)."}
WITH_ID = {"404": "No such object, or an invalid page cursor."}
ACTIONS = {"409": "The object is not in a state that allows this action; the answer says why."}
INGEST = {
    "413": "The body is larger than INGEST_MAX_BODY_BYTES, compressed or inflated.",
    "415": "The Content-Type or Content-Encoding is not one this endpoint reads.",
}

TRACE_STATUS = {
    "type": "object",
    "description": "google.rpc.Status, as the OTLP/HTTP specification answers errors.",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
TRACES_OPERATION: dict[str, Any] = {
    "operationId": "otlp_traces_export",
    "summary": "Export OpenTelemetry spans (OTLP/HTTP)",
    "description": (
        "An ExportTraceServiceRequest in protobuf or OTLP/JSON, optionally gzip-encoded "
        "(`Content-Encoding: gzip`). Answers an ExportTraceServiceResponse in the request's "
        "encoding; spans that cannot be stored are counted in `partialSuccess` with the "
        "reasons, the others are stored. See docs/api.md."
    ),
    "tags": ["otlp"],
    "security": [{"flowKey": []}],
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
                }
            },
        },
    },
    "responses": {
        "200": {
            "description": "Stored, but for the spans counted in partialSuccess.",
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "partialSuccess": {
                                "type": "object",
                                "properties": {
                                    "rejectedSpans": {"type": "string"},
                                    "errorMessage": {"type": "string"},
                                },
                            }
                        },
                    }
                },
            },
        }
    },
}


def _answer(text: str, content_types: tuple[str, ...], schema: dict) -> dict:
    return {"description": text, "content": {ct: {"schema": schema} for ct in content_types}}


def _add_errors(path: str, method: str, operation: dict) -> None:
    traces = path == "/v1/traces"
    types = ("application/json", "application/x-protobuf") if traces else ("application/json",)
    schema = TRACE_STATUS if traces else ERROR_REF
    answers = dict(COMMON)
    if operation.get("parameters") or "requestBody" in operation:
        answers.update(WITH_INPUT)
    if "requestBody" in operation:
        answers.update(WITH_BODY)
    if "{" in path or any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
        answers.update(WITH_ID)
    if method == "post" and path.startswith(("/api/v1/exceptions/", "/api/v1/replays/")):
        answers.update(ACTIONS)
    if traces or path == "/api/v1/events":
        answers.update(INGEST)
    responses = operation.setdefault("responses", {})
    for code, text in answers.items():
        responses.setdefault(code, _answer(text, types, schema))


def _one_or_many_events(operation: dict) -> None:
    content = operation["requestBody"]["content"]["application/json"]
    item = content["schema"]["items"]
    many = {"type": "array", "items": item, "minItems": 1, "maxItems": 1000}
    content["schema"] = {"oneOf": [item, many]}


def complete(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    paths = result.setdefault("paths", {})
    paths["/v1/traces"] = {"post": TRACES_OPERATION}
    events = paths.get("/api/v1/events", {}).get("post")
    if events is not None:
        _one_or_many_events(events)
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, item in paths.items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _add_errors(path, method, operation)
    return result
