"""Idle sign-out: a session unused for SESSION_IDLE_MINUTES is signed out at its next
request; background requests (marked by static/js/app.js) do not count as use."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from c2c_ops.idle import SEEN
from tests.conftest import PASSWORD, browser

pytestmark = pytest.mark.django_db
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_C2C_BACKGROUND": "1"}
CLICK = {"HTTP_HX_REQUEST": "true"}


class Clock:
    """Requests at fixed minutes after the start, the clock standing still in between."""

    def __init__(self):
        self.start = timezone.now().replace(microsecond=0)

    def at(self, minutes: float):
        return time_machine.travel(self.start + timedelta(minutes=minutes), tick=False)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_default_is_an_hour():
    assert settings.SESSION_IDLE_MINUTES == 60


def test_a_session_unused_for_61_minutes_is_signed_out_with_a_message(viewer):
    client, clock = browser(viewer), Clock()
    with clock.at(0):
        assert client.get("/").status_code == 200
    with clock.at(61):
        response = client.get("/transactions/?status=stuck")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/transactions/%3Fstatus%3Dstuck"
        assert not signed_in(client)
        page = client.get(response["Location"]).content.decode()
        assert "signed out after 60 minutes without activity" in page


def test_a_session_used_within_the_hour_stays(viewer):
    client, clock = browser(viewer), Clock()
    for minute in (0, 59, 118, 177):
        with clock.at(minute):
            assert client.get("/").status_code == 200, minute
    assert signed_in(client)


def test_polls_do_not_keep_a_session_alive(viewer):
    client, clock = browser(viewer), Clock()
    with clock.at(0):
        client.get("/")
    for minute in range(1, 60, 10):
        with clock.at(minute):
            assert client.get("/?part=tiles", **POLL).status_code == 200
    with clock.at(61):
        response = client.get(
            "/?part=tiles", **POLL, HTTP_HX_CURRENT_URL="http://testserver/?window=7d"
        )
        # htmx loads the sign-in page in full rather than swapping it into a tile.
        assert response.status_code == 401
        assert response["HX-Redirect"] == "/accounts/login/?next=%2F%3Fwindow%3D7d"
    assert not signed_in(client)


def test_a_click_counts_as_activity(viewer):
    client, clock = browser(viewer), Clock()
    with clock.at(0):
        client.get("/")
    with clock.at(30):
        # A change in the filter bar: an htmx request a user event set off.
        assert client.get("/transactions/?region=EMEA", **CLICK).status_code == 200
    with clock.at(61):
        assert client.get("/", **POLL).status_code == 200
    with clock.at(89):
        assert client.get("/").status_code == 200
    assert signed_in(client)


def test_the_api_answers_401_json_to_an_idle_session(viewer):
    client, clock = browser(viewer), Clock()
    with clock.at(0):
        assert client.get("/api/v1/transactions").status_code == 200
    with clock.at(61):
        response = client.get("/api/v1/transactions")
        assert response.status_code == 401
        assert "without activity" in response.json()["detail"]


def test_a_sign_in_starts_the_clock(viewer):
    client, clock = Client(), Clock()
    with clock.at(0):
        response = client.post(
            "/accounts/login/", {"username": viewer.username, "password": PASSWORD}
        )
        assert response.status_code == 302
        assert client.session[SEEN] == int(clock.start.timestamp())
    with clock.at(61):
        assert client.get("/").status_code == 302


def test_the_session_is_written_at_most_once_a_minute(viewer):
    client, clock = browser(viewer), Clock()
    with clock.at(0):
        client.get("/")
    stored = Session.objects.get()
    with clock.at(0.5):
        client.get("/")
    again = Session.objects.get()
    assert again.session_data == stored.session_data
    assert again.expire_date == stored.expire_date
    with clock.at(2):
        client.get("/")
    assert client.session[SEEN] == int((clock.start + timedelta(minutes=2)).timestamp())


def test_api_keys_have_no_session_to_time_out(read_client):
    clock = Clock()
    for minute in (0, 120):
        with clock.at(minute):
            response = read_client.get("/api/v1/transactions")
            assert response.status_code == 200
            assert settings.SESSION_COOKIE_NAME not in response.cookies
