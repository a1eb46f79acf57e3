"""Chunked request bodies, read whole before Django sees the request.

Django sizes a request body by its Content-Length and reads nothing when there is none, so
a body sent with ``Transfer-Encoding: chunked`` (collectors and HTTP libraries streaming a
large export do this) reached the views empty: an export answered 200 and was not stored.
The WSGI server (gunicorn) has already removed the chunk framing; this reads what it
decodes, up to the largest body any view accepts plus one byte, so the views' own size
checks still refuse a body that is too large (413), and never hold more than that.
"""

import io
from collections.abc import Callable, Iterable

from django.conf import settings


def body_limit() -> int:
    return max(settings.INGEST_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


class ChunkedBodies:
    """WSGI middleware: give a chunked body a Content-Length, reading at most the limit + 1."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if "chunked" in encoding and not environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(body_limit() + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            # One byte past the limit says "too large" to the view, which answers 413.
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
