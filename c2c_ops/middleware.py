"""Tell clients to retry, rather than fail, while the database is unreachable."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from tracking.ledger import ConcurrentWrite

log = logging.getLogger(__name__)
REFUSED = (
    "A value cannot be stored: the database refused it. Nothing in this request was "
    "recorded; the server log names the value."
)


class DatabaseUnavailableMiddleware:
    """503 + Retry-After when the database cannot be reached (or a write stays contended);
    400 when it refuses a value.

    Nothing was accepted (the write did not commit), so the client's retry loses nothing:
    the OpenTelemetry exporters and well-behaved flows retry 503 with backoff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError):
            # A value validation let through and the database refused: the same request
            # would fail again, so it is not worth a retry.
            # The database's message names tables and columns: the log keeps it.
            log.error("value refused by the database on %s: %s", request.path, exception)
            return JsonResponse({"detail": REFUSED}, status=400)
        if isinstance(exception, ConcurrentWrite):
            log.warning("gave up a contended write on %s: %s", request.path, exception)
            detail = "Too many concurrent writes to the same transaction; retry later."
        elif isinstance(exception, OperationalError | InterfaceError):
            log.warning(
                "database unavailable for %s: %s: %s",
                request.path,
                type(exception).__name__,
                str(exception).strip(),
            )
            detail = "The ledger database is unavailable; retry later."
        else:
            return None
        response = JsonResponse({"detail": detail}, status=503)
        response["Retry-After"] = str(settings.INGEST_RETRY_AFTER_SECONDS)
        return response
