"""Sign-ins, failed sign-ins and sign-outs are in the audit log with the client's address;
a failed attempt names the username tried and never the password."""

import pytest
from django.test import Client

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "vera-knows-this-passphrase"


@pytest.fixture
def vera(viewer):
    viewer.set_password(PASSWORD)
    viewer.save()
    return viewer


def sign_in(client: Client, username: str, password: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password},
        REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="pytest-browser",
    )  # fmt: skip


def test_a_sign_in_and_a_sign_out(vera):
    client = Client()
    assert sign_in(client, "vera-viewer", PASSWORD).status_code == 302
    client.post("/accounts/logout/", REMOTE_ADDR="192.0.2.7")
    signed_in, signed_out = AuditEntry.objects.order_by("id")
    assert (signed_in.action, signed_in.actor_id, signed_in.object_id) == (
        "sign_in", vera.pk, str(vera.pk),
    )  # fmt: skip
    assert signed_in.after == {"method": "password", "ip": "192.0.2.7", "agent": "pytest-browser"}
    assert (signed_out.action, signed_out.actor_name) == ("sign_out", "vera-viewer")


def test_a_failed_sign_in_names_the_username_not_the_password(vera):
    response = sign_in(Client(), "vera-viewer", "a-wrong-guess-123")
    assert response.status_code == 200  # the form again, with its error
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.actor_name, entry.object_id) == (
        "sign_in_failed", "vera-viewer", "vera-viewer",
    )  # fmt: skip
    assert entry.actor_id is None and entry.after["ip"] == "192.0.2.7"
    assert "a-wrong-guess" not in str(entry.before) + str(entry.after) + entry.reason
