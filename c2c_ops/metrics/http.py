"""Request latency: ``c2c_http_request_duration_seconds`` by method, route and status class.

First in MIDDLEWARE, so it times everything the app does for a request, the other
middleware included. The body of a streamed response (CSV exports) is sent after it has
returned, so such a response counts until its first byte only.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Histogram

# 1 ms to 10 s: from a health probe to a slow dashboard query or a large OTLP export.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
# Prometheus' own scrapes, every few seconds, would outnumber most routes' requests.
NOT_TIMED = {"metrics"}

REQUESTS = Histogram(
    "c2c_http_request_duration_seconds",
    "Time to answer a request, by method, URL pattern name and status class.",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_of(request: HttpRequest) -> str:
    """The matched URL pattern's name (its view's dotted path if unnamed): one series per
    pattern however many IDs its paths carry. Requests no pattern matched, and those
    answered before resolution (static files, redirects), are ``unmatched``."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class RequestTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        if route not in NOT_TIMED:
            # A client may send any method name: label only the ones a route can serve.
            method = request.method if request.method in METHODS else "other"
            REQUESTS.labels(
                method=method, route=route, status=f"{response.status_code // 100}xx"
            ).observe(time.perf_counter() - started)
        return response
