"""Messages still go from one page to the next, and a request that never uses them
(an API call, a callback) builds no message store."""

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from c2c_ops import lazy_messages
from c2c_ops.lazy_messages import LazyMessageMiddleware

pytestmark = pytest.mark.django_db


def serve(view, cookies: dict | None = None):
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    chain = SessionMiddleware(LazyMessageMiddleware(view))
    return chain(request)


def test_a_message_added_on_one_page_is_shown_on_the_next():
    def adds(request):
        messages.success(request, "Key revoked.")
        return HttpResponse()

    shown = []

    def reads(request):
        shown.extend(str(m) for m in messages.get_messages(request))
        return HttpResponse()

    first = serve(adds)
    cookie = first.cookies[CookieStorage.cookie_name]
    assert cookie.value
    second = serve(reads, {CookieStorage.cookie_name: cookie.value})
    assert shown == ["Key revoked."]
    # Read once, then cleared: the next page does not show it again.
    assert second.cookies[CookieStorage.cookie_name].value == ""


def test_a_request_that_never_uses_messages_builds_no_store(monkeypatch):
    built = []
    monkeypatch.setattr(
        lazy_messages, "default_storage", lambda request: built.append(request) or None
    )
    response = serve(lambda request: HttpResponse("ok"))
    assert response.status_code == 200
    assert built == []
    assert CookieStorage.cookie_name not in response.cookies
