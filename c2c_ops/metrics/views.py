"""``GET /metrics``: the Prometheus exposition of every process on this host, and the backlog.

Open unless METRICS_TOKEN is set (then ``Authorization: Bearer <token>``); without a
token, keep the path off the public network (docs/scaling.md). A plain view outside /api/:
no session, no CSRF, not in the OpenAPI schema, not traced (OTEL_EXCLUDED_URLS).
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from .backlog import BacklogCollector


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token and not _authorized(request, token):
        response = HttpResponse("Authorization: Bearer <METRICS_TOKEN> is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="c2c-ops metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    # A registry per scrape: the collector reads the files every process has written
    # (gunicorn workers, Celery workers on this host), adding up counters and histograms.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
