"""``?format=csv`` on the admin lists that have no page of their own: replays and dead
letters, with the changelist's filters and search applied."""

import csv
import io
import re

import pytest
from django.test import Client

from tests.conftest import browser
from tests.exceptions.helpers import failed_case
from tests.tracking.factories import event
from tracking.models import DeadLetter

pytestmark = pytest.mark.django_db
REPLAYS = "/admin/c2c_exceptions/replay/"
LETTERS = "/admin/tracking/deadletter/"


@pytest.fixture
def replays(ingest_client, flow, operator):
    flow.replay_url, flow.replay_secret = "http://127.0.0.1:9/replay", "s"
    flow.save()
    client = browser(operator)
    # Above REPLAY_APPROVAL_THRESHOLD (10,000 by default) a replay awaits a second operator.
    for cid, amount, reason in (("SOW-BIG", "90000.00", "=cmd()"), ("SOW-SMALL", "10.00", "x")):
        case = failed_case(ingest_client, cid, amount=amount)
        assert client.post(f"/exceptions/{case.pk}/replay", {"reason": reason}).status_code < 400


@pytest.fixture
def letters(ingest_client):
    events = [event("kickoff", journey="onboarding", correlation_id=f"ONB-{n}") for n in (1, 2)]
    assert ingest_client.post("/api/v1/events", events, format="json").status_code == 202
    DeadLetter.objects.filter(correlation_id="ONB-2").update(resolved_at="2026-11-03T09:00Z")


def exported(user, url: str, name: str) -> list[dict[str, str]]:
    response = browser(user).get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="c2c-{name}-\d{{8}}-\d{{4}}\.csv"', disposition)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_replays_export_with_the_lists_filters_and_search(replays, admin_user):
    every = exported(admin_user, f"{REPLAYS}?format=csv", "replays")
    assert sorted(r["correlation_id"] for r in every) == ["SOW-BIG", "SOW-SMALL"]
    awaiting = f"{REPLAYS}?status__exact=awaiting_approval&format=csv"
    (big,) = exported(admin_user, awaiting, "replays")
    assert (big["correlation_id"], big["stage"], big["flow"]) == (
        "SOW-BIG", "invoice_generated", "psa-to-billing"
    )  # fmt: skip
    assert big["reason"] == "'=cmd()" and big["requested_by_name"] == "omar-operator"
    (small,) = exported(admin_user, f"{REPLAYS}?q=SOW-SMALL&format=csv", "replays")
    assert small["status"] == "requested"


def test_dead_letters_export_with_the_lists_filters_and_search(letters, admin_user):
    waiting = exported(admin_user, f"{LETTERS}?resolved_at__isempty=1&format=csv", "dead-letters")
    assert [r["correlation_id"] for r in waiting] == ["ONB-1"]
    assert waiting[0]["flow"] == "psa-to-billing" and waiting[0]["reason"]
    (found,) = exported(admin_user, f"{LETTERS}?q=ONB-2&format=csv", "dead-letters")
    assert found["resolved_at"].startswith("2026-11-03T09:00")


def test_an_invalid_filter_is_refused_not_dropped(letters, admin_user):
    # The list itself drops such a filter: it redirects to everything, flagged "?e=1".
    assert browser(admin_user).get(f"{LETTERS}?nonsense=1")["Location"].endswith("?e=1")
    response = browser(admin_user).get(f"{LETTERS}?nonsense=1&format=csv")
    assert response.status_code == 400 and b"not valid" in response.content


def test_only_those_who_see_the_lists_export_them(letters, viewer):
    for url in (f"{REPLAYS}?format=csv", f"{LETTERS}?format=csv"):
        assert browser(viewer).get(url).status_code == 302  # not staff: to the admin login
        assert Client().get(url).status_code == 302


def test_the_lists_link_their_export_with_their_filters(replays, letters, admin_user):
    html = browser(admin_user).get(f"{REPLAYS}?status__exact=requested").content.decode()
    assert 'href="?status__exact=requested&amp;format=csv"' in html
    html = browser(admin_user).get(LETTERS).content.decode()
    assert 'href="?format=csv"' in html
