"""Tell clients to retry, rather than fail, while the database is unreachable."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """503 + Retry-After when the database cannot be reached.

    Nothing was accepted (the write did not commit), so the client's retry loses nothing:
    the OpenTelemetry exporters and well-behaved flows retry 503 with backoff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable for %s: %s", request.path, type(exception).__name__)
        response = JsonResponse(
            {"detail": "The ledger database is unavailable; retry later."}, status=503
        )
        response["Retry-After"] = str(settings.INGEST_RETRY_AFTER_SECONDS)
        return response
