"""Every page, every persona: the three roles read, a user without a role does not, and a
stranger is sent to sign in."""

import pytest
from django.test import Client

from .scenario import HX, build

pytestmark = pytest.mark.django_db
PAGES = [
    "/",
    "/?part=tiles",
    "/transactions/",
    "/transactions/?part=count",
    "/transactions/P-STUCK/",
    "/flows/",
    "/flows/psa-to-billing/",
]


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("htmx", [False, True])
def test_roles_read_every_page(ledger, viewer, operator, admin_user, path, htmx):
    for user in (viewer, operator, admin_user):
        client = Client()
        client.force_login(user)
        response = client.get(path, **(HX if htmx else {}))
        assert response.status_code == 200, (user.username, path)


@pytest.mark.parametrize("path", PAGES)
def test_outsiders_and_strangers_read_nothing(ledger, outsider, path):
    client = Client()
    client.force_login(outsider)
    assert client.get(path).status_code == 403
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
