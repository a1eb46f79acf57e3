"""The page a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): 429, when to
come back, and a Retry-After header saying the same."""

import math
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_ends(request: HttpRequest, credentials: dict | None) -> datetime:
    """The end of the lockout: the cool-off after the last failure counted against it."""
    cool_off = get_cool_off(request)
    last = None
    handler = AxesProxyHandler.get_implementation()
    for attempts in handler.get_user_attempts(request, credentials):
        for at in attempts.values_list("attempt_time", flat=True):
            last = at if last is None or at > last else last
    return (last or timezone.now()) + cool_off


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    ends = lockout_ends(request, credentials)
    seconds = max(1, math.ceil((ends - timezone.now()).total_seconds()))
    detail = "Too many failed sign-ins: sign-in is locked for this account from this address."
    if request.path.startswith("/api/") or request.headers.get("x-requested-with"):
        response = JsonResponse({"detail": detail, "retry_at": ends.isoformat()}, status=429)
    else:
        context = {
            "ends": ends,
            "minutes": math.ceil(seconds / 60),
            "username": get_client_username(request, credentials) or "",
        }
        response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
