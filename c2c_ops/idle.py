"""Sign out a session nobody has used for SESSION_IDLE_MINUTES.

Activity is any request of the signed-in person except the pages' background requests:
the polls (``hx-trigger="every 30s"``) and the parts a page fetches as it loads
(``hx-trigger="load"``). ``static/js/app.js`` marks those with the header
``X-C2C-Background: 1``: it sets it on every htmx request that no trusted user event
(a click, a keypress, a change of a field) set off. A tab left open therefore goes on
polling without keeping its session alive.

The time of the last activity is kept in the session, rewritten at most once a minute, so
an active session is not saved on every request.
"""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

SEEN = "c2c_last_activity"
BACKGROUND_HEADER = "X-C2C-Background"
WRITE_EVERY = 60  # seconds
MACHINE_PREFIXES = ("/api/", "/v1/")


def is_background(request: HttpRequest) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1"


def _signed_out(request: HttpRequest, minutes: int) -> HttpResponse:
    text = f"You were signed out after {minutes} minutes without activity. Sign in again."
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse({"detail": text}, status=401)
    messages.info(request, text)
    if request.headers.get("HX-Request") == "true":
        # htmx follows HX-Redirect with a full page load, rather than swapping the sign-in
        # page into a tile. The page's own address comes in HX-Current-URL.
        login = f"{settings.LOGIN_URL}?{urlencode({'next': _here(request)})}"
        response = HttpResponse(status=401)
        response["HX-Redirect"] = login
        return response
    return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


def _here(request: HttpRequest) -> str:
    current = request.headers.get("HX-Current-URL", "")
    host = request.build_absolute_uri("/")
    if current.startswith(host):
        return "/" + current[len(host) :]
    return "/"


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No session cookie (an API key, a health check): nothing to time out, nor to load.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(SEEN)
            idle = settings.SESSION_IDLE_MINUTES * 60
            if seen is not None and now - seen > idle:
                logout(request)
                return _signed_out(request, settings.SESSION_IDLE_MINUTES)
            if seen is None or (not is_background(request) and now - seen >= WRITE_EVERY):
                request.session[SEEN] = now
        response = self.get_response(request)
        # A sign-in starts the clock (the session had no user when this request came in).
        # Only a session that holds a user: an API key's request has no session to start.
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session and SEEN not in session:
            session[SEEN] = int(time.time())
        return response
