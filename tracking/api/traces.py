"""``POST /v1/traces``: the OTLP/HTTP trace receiver.

Status codes follow the OTLP/HTTP specification, because exporters act on them: 400 and 413
are final (the SDK drops the batch), 503 with Retry-After is retried, so a database outage
loses nothing. A plain Django view: DRF's content negotiation has nothing to add here.
"""

import logging
import zlib

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from .. import counters
from ..ingest import spans
from ..ingest.events import default_system
from ..ingest.otlp import MalformedExport, decode
from ..keys import bearer_key, verify
from ..ledger import ConcurrentWrite

# The database's own message names tables and columns: the log keeps it, not the answer.
REFUSED = (
    "a value cannot be stored: the database refused it; nothing in this export was "
    "recorded, and the server log names the value"
)

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class BodyTooLarge(Exception):
    pass


def _reply(content_type: str, message, status: int = 200) -> HttpResponse:
    if content_type == PROTOBUF:
        body = message.SerializeToString()
    else:
        body = json_format.MessageToJson(message, indent=None).encode()
    return HttpResponse(body, status=status, content_type=content_type)


def _error(content_type: str, status: int, text: str, **headers: str) -> HttpResponse:
    # gRPC code numbers in the Status body, as the OTLP/HTTP spec asks.
    grpc_code = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 503: 14}.get(status, 2)
    response = _reply(content_type, Status(code=grpc_code, message=text), status)
    for name, value in headers.items():
        response[name] = value
    return response


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.INGEST_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        # No byte count: a chunked body was read only to one byte past the limit.
        raise BodyTooLarge(f"body exceeds the {limit}-byte limit; send smaller batches")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(f"body exceeds the {limit}-byte limit")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise ValueError(f"unsupported Content-Encoding {encoding!r}: use gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise MalformedExport(f"gzip body cannot be inflated: {exc}") from exc
    if len(body) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"gzip body inflates past the {limit}-byte limit")
    if not inflater.eof:
        raise MalformedExport("gzip body is truncated")
    return body


@csrf_exempt
@require_POST
def export_traces(request: HttpRequest) -> HttpResponse:
    content_type = request.content_type or ""
    reply_type = content_type if content_type in (PROTOBUF, JSON) else JSON
    if content_type not in (PROTOBUF, JSON):
        return _error(JSON, 415, f"Content-Type must be {PROTOBUF} or {JSON}")
    retry_after = str(settings.INGEST_RETRY_AFTER_SECONDS)
    try:
        key = bearer_key(request.META)
        if key is None:
            return _error(
                reply_type,
                401,
                "Authorization: Bearer <api key> is required",
                **{"WWW-Authenticate": 'Bearer realm="c2c-ops"'},
            )
        api_key = verify(key)
        if api_key is None:
            return _error(
                reply_type,
                401,
                "the API key is unknown, revoked or expired",
                **{"WWW-Authenticate": 'Bearer realm="c2c-ops"'},
            )
        if not api_key.has_scope("ingest"):
            return _error(reply_type, 403, "this API key does not have the ingest scope")
        try:
            body = _read_body(request)
        except BodyTooLarge as exc:
            return _error(reply_type, 413, str(exc))
        except ValueError as exc:
            if isinstance(exc, MalformedExport):
                return _error(reply_type, 400, str(exc))
            return _error(reply_type, 415, str(exc))
        try:
            records = decode(body, content_type)
        except MalformedExport as exc:
            return _error(reply_type, 400, str(exc))
        result = spans.ingest(records, api_key.flow_id, default_system(api_key.flow.target_system))
        counters.count_spans(
            api_key.flow.slug,
            result.accepted - result.duplicates,
            result.duplicates,
            result.rejected,
        )
    except (OperationalError, InterfaceError, ConcurrentWrite) as exc:
        log.warning(
            "ingest unavailable, client told to retry: %s: %s",
            type(exc).__name__,
            str(exc).strip(),
        )
        return _error(
            reply_type,
            503,
            "the ledger is unavailable or contended; retry later",
            **{"Retry-After": retry_after},
        )
    except DataError as exc:
        log.error("value refused by the database on /v1/traces: %s", exc)
        return _error(reply_type, 400, REFUSED)

    response = ExportTraceServiceResponse()
    if result.rejected:
        response.partial_success.rejected_spans = result.rejected
        response.partial_success.error_message = "; ".join(result.messages)
    return _reply(reply_type, response)


__all__ = ["export_traces"]
