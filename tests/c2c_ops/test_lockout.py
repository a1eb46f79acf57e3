"""Sign-in throttling (django-axes): failures count per username and client address; the
limit locks that pair out for the cool-off, with a 429 page saying when to come back and
an audit entry; a success clears the count. API keys and test sign-ins are not involved."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from audit.models import AuditEntry
from c2c_ops.client_ip import client_ip
from tests.conftest import PASSWORD, browser

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client: Client, username: str, times: int, ip: str = "10.0.0.1"):
    response = None
    for _ in range(times):
        response = sign_in(client, username, "wrong-password", ip)
    return response


def test_the_limit_and_cool_off_default_to_5_and_15_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_failures_below_the_limit_show_the_form_again(viewer):
    response = fail(Client(), viewer.username, settings.AXES_FAILURE_LIMIT - 1)
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_the_limit_locks_out_with_a_429_page_and_an_audit_entry(viewer):
    client = Client()
    response = fail(client, viewer.username, settings.AXES_FAILURE_LIMIT)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Sign-in locked" in html and "Try again after" in html and "15 minutes" in html
    assert 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    assert "Content-Security-Policy" in response  # a page like any other

    entry = AuditEntry.objects.get(action="locked_out")
    assert entry.actor_name == viewer.username and entry.object_type == "user"
    assert entry.object_id == viewer.username
    assert entry.after == {"ip": "10.0.0.1", "failures": settings.AXES_FAILURE_LIMIT}
    failed = AuditEntry.objects.filter(action="sign_in_failed").count()
    assert failed == settings.AXES_FAILURE_LIMIT

    # Even the right password is refused until the cool-off ends, unchecked.
    again = sign_in(client, viewer.username, PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_off(viewer):
    client = Client()
    fail(client, viewer.username, settings.AXES_FAILURE_LIMIT)
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert sign_in(client, viewer.username, PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        response = sign_in(client, viewer.username, PASSWORD)
        assert response.status_code == 302
        assert client.get("/").status_code == 200


def test_a_success_clears_the_count(viewer):
    client = Client()
    fail(client, viewer.username, settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, viewer.username, PASSWORD).status_code == 302
    client.logout()
    response = fail(client, viewer.username, settings.AXES_FAILURE_LIMIT - 1)
    assert response.status_code == 200


def test_only_that_username_from_that_address_is_locked(viewer, operator):
    fail(Client(), viewer.username, settings.AXES_FAILURE_LIMIT, ip="10.0.0.1")
    # The same person from elsewhere, and someone else from the same address, sign in.
    assert sign_in(Client(), viewer.username, PASSWORD, ip="10.0.0.2").status_code == 302
    assert sign_in(Client(), operator.username, PASSWORD, ip="10.0.0.1").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_limit_follows_the_setting(viewer):
    assert fail(Client(), viewer.username, 2).status_code == 429


def test_api_keys_and_test_sign_ins_are_not_throttled(viewer, read_client):
    fail(Client(), viewer.username, settings.AXES_FAILURE_LIMIT, ip="127.0.0.1")
    assert read_client.get("/api/v1/transactions").status_code == 200
    # force_login skips authentication, so axes never sees it.
    assert browser(viewer).get("/").status_code == 200
    # A wrong API key is DRF's 401, not a sign-in failure.
    bad = Client().get("/api/v1/transactions", HTTP_AUTHORIZATION="Bearer nope.nope")
    assert bad.status_code == 401
    assert AuditEntry.objects.filter(action="locked_out").count() == 1


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post(LOGIN, **extra)


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted():
    assert client_ip(request_from("10.1.1.1", "6.6.6.6")) == "10.1.1.1"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        # One proxy of ours appended the address it saw; anything left of it is the client's
        # own say and is not believed.
        assert client_ip(request_from("10.1.1.1", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
        assert client_ip(request_from("10.1.1.1")) == "10.1.1.1"
        assert client_ip(request_from("10.1.1.1", "not-an-address")) == "10.1.1.1"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        forwarded = "6.6.6.6, 203.0.113.9, 10.2.2.2"
        assert client_ip(request_from("10.1.1.1", forwarded)) == "203.0.113.9"
        assert client_ip(request_from("10.1.1.1", "203.0.113.9")) == "10.1.1.1"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_lockout_is_per_forwarded_address(viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN,
            {"username": viewer.username, "password": "wrong"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    entry = AuditEntry.objects.get(action="locked_out")
    assert entry.after["ip"] == "203.0.113.7"
    other = Client().post(
        LOGIN,
        {"username": viewer.username, "password": PASSWORD},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302
