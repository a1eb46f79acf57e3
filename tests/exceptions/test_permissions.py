"""Who may do what: viewer sees, operator acts, admin configures; outsiders and the
wrong keys get nothing. The same rules for the API and for keys."""

import pytest

from tests.conftest import key_client, make_key, session_client

from .helpers import failed_case

pytestmark = pytest.mark.django_db

ACTIONS = [
    ("assign", {"team": "erp"}),
    ("acknowledge", {}),
    ("resolve", {"reason": "fixed"}),
    ("notes", {"body": "looking"}),
]


@pytest.fixture
def case(ingest_client, flow):
    return failed_case(ingest_client, "SOW-1")


@pytest.mark.parametrize(
    ("persona", "code"),
    [("viewer", 200), ("operator", 200), ("admin_user", 200), ("outsider", 403)],
)
def test_reading(case, request, persona, code):
    client = session_client(request.getfixturevalue(persona))
    assert client.get("/api/v1/exceptions").status_code == code
    assert client.get(f"/api/v1/exceptions/{case.pk}").status_code == code


@pytest.mark.parametrize(("action", "body"), ACTIONS)
@pytest.mark.parametrize(
    ("persona", "code"),
    [("viewer", 403), ("outsider", 403), ("operator", 200), ("admin_user", 200)],
)
def test_acting(case, request, persona, code, action, body):
    client = session_client(request.getfixturevalue(persona))
    r = client.post(f"/api/v1/exceptions/{case.pk}/{action}", body, format="json")
    assert r.status_code == code, r.content


def test_anonymous_gets_401_or_403(case):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/exceptions").status_code in (401, 403)
    assert APIClient().post(f"/api/v1/exceptions/{case.pk}/acknowledge").status_code in (401, 403)


@pytest.mark.parametrize(
    ("scopes", "read", "act"),
    [
        (("ingest",), 403, 403),
        (("read",), 200, 403),
        (("operate",), 403, 200),
    ],
)
def test_keys_need_their_scope(case, flow, scopes, read, act):
    client = key_client(make_key(flow, *scopes))
    assert client.get("/api/v1/exceptions").status_code == read
    assert client.post(f"/api/v1/exceptions/{case.pk}/acknowledge").status_code == act


def test_session_posts_need_the_csrf_token(case, operator):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(operator)
    r = client.post(f"/api/v1/exceptions/{case.pk}/acknowledge")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
