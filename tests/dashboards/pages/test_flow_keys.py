"""A flow's API keys page (/flows/<slug>/keys/): admins list, create, rotate and revoke;
a new key is shown once; other roles see no key and change nothing."""

from datetime import timedelta

import orjson
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from tests.conftest import browser, key_client
from tests.tracking.factories import event
from tracking.models import FlowAPIKey

from .scenario import HX

pytestmark = pytest.mark.django_db
KEYS = "/flows/psa-to-billing/keys/"


def key_entries():
    # Signing in writes entries of its own: only the keys' count here.
    return AuditEntry.objects.filter(object_type="api_key")


def works(key: str) -> bool:
    answer = key_client(key).post("/api/v1/events", event("work_approved"), format="json")
    return answer.status_code == 202


def token(client, url: str = KEYS) -> str:
    return str(client.get(url).context["csrf_token"])


def post(client, url: str, data: dict):
    return client.post(url, {**data, "csrfmiddlewaretoken": token(client, url)})


def shown_key(response) -> str:
    html = response.content.decode()
    return html.split('id="new-key-value" class="secret">', 1)[1].split("<", 1)[0]


def create(client, **data):
    return post(client, KEYS, {"name": "billing prod", "scopes": ["ingest"], **data})


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_admin_creates_a_key_that_is_shown_once_and_works(flow, admin_user):
    client = browser(admin_user, csrf=True)
    response = create(client, scopes=["ingest", "read"])
    assert response.status_code == 200
    key = shown_key(response)
    api_key = FlowAPIKey.objects.get()
    assert key.startswith(api_key.prefix + ".") and api_key.scopes == ["ingest", "read"]
    assert "no-store" in response["Cache-Control"]
    assert works(key)
    listing = client.get(KEYS).content.decode()
    assert api_key.prefix in listing and "billing prod" in listing
    assert key not in listing and key.partition(".")[2] not in listing
    assert api_key.hashed_key not in listing
    entry = key_entries().get()
    assert (entry.action, entry.actor_name, entry.object_type) == ("create", "ada-admin", "api_key")
    assert entry.actor == admin_user and entry.after["prefix"] == api_key.prefix
    assert key not in orjson.dumps([entry.before, entry.after, entry.object_id]).decode()


def test_the_list_shows_state_expiry_and_last_use(flow, admin_user):
    client = browser(admin_user)
    key = shown_key(create(client))
    create(client, name="soon", expires=local(timezone.now() + timedelta(days=2)))
    listing = client.get(KEYS).content.decode()
    assert "never</span>" in listing and "expiring on" in listing and ">active<" in listing
    assert works(key)
    assert client.get(KEYS).content.decode().count("never</span>") == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"scopes": []}, "Choose at least one scope."),
        ({"scopes": ["ingest", "configure"]}, "Unknown scope configure"),
        ({"name": ""}, "This field is required."),
        ({"expires": "past"}, "The expiry must be in the future."),
        ({"expires": "not a date"}, "Enter a valid date/time."),
    ],
)
def test_create_says_what_is_wrong(flow, admin_user, data, message):
    if data.get("expires") == "past":
        data = {"expires": local(timezone.now() - timedelta(hours=1))}
    response = create(browser(admin_user, csrf=True), **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FlowAPIKey.objects.exists() and not key_entries().exists()


def test_rotate_overlaps_then_refuses_the_old_key(flow, admin_user):
    client = browser(admin_user, csrf=True)
    old = shown_key(create(client))
    prefix = old.partition(".")[0]
    page = client.get(f"{KEYS}{prefix}/rotate")
    assert page.status_code == 200 and 'value="24"' in page.content.decode()
    response = post(client, f"{KEYS}{prefix}/rotate", {"overlap_hours": "2"})
    assert response.status_code == 200
    new = shown_key(response)
    assert new != old and works(old) and works(new)
    rotated = FlowAPIKey.objects.exclude(prefix=prefix).get()
    assert rotated.name.startswith("billing prod (rotated ") and rotated.scopes == ["ingest"]
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1), tick=False):
        assert not works(old) and works(new)
    entries = key_entries().filter(action="rotate")
    assert entries.count() == 1 and entries[0].after["prefix"] == rotated.prefix
    assert new not in orjson.dumps([entries[0].before, entries[0].after]).decode()


def test_rotate_refuses_a_bad_overlap(flow, admin_user):
    client = browser(admin_user)
    prefix = shown_key(create(client)).partition(".")[0]
    response = post(client, f"{KEYS}{prefix}/rotate", {"overlap_hours": "-1"})
    assert response.status_code == 400 and "greater than or equal to 0" in response.content.decode()
    assert FlowAPIKey.objects.count() == 1 and not key_entries().filter(action="rotate")


def test_revoke_asks_first_then_refuses_the_key_at_once(flow, admin_user):
    client = browser(admin_user, csrf=True)
    key = shown_key(create(client))
    prefix = key.partition(".")[0]
    url = f"{KEYS}{prefix}/revoke"
    confirm = client.get(url)
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.content.decode()
    unconfirmed = post(client, url, {})
    assert unconfirmed.status_code == 400 and works(key)
    response = post(client, url, {"confirm": "on"})
    assert response.status_code == 303 and response["Location"] == KEYS
    assert not works(key)
    assert "revoked" in client.get(KEYS).content.decode()
    assert key_entries().filter(action="revoke").count() == 1
    again = post(client, url, {"confirm": "on"})
    assert again.status_code == 400 and "already revoked" in again.content.decode()
    assert key_entries().filter(action="revoke").count() == 1


def test_posts_need_the_csrf_token(flow, admin_user):
    client = browser(admin_user, csrf=True)
    assert client.post(KEYS, {"name": "k", "scopes": ["ingest"]}).status_code == 403
    assert not FlowAPIKey.objects.exists()


@pytest.fixture
def existing(flow, admin_user) -> str:
    return shown_key(create(browser(admin_user)))


def test_other_roles_see_no_key_and_change_nothing(existing, viewer, operator, outsider):
    prefix = existing.partition(".")[0]
    for user in (viewer, operator, outsider):
        client = browser(user)
        for url in (KEYS, f"{KEYS}{prefix}/rotate", f"{KEYS}{prefix}/revoke"):
            assert client.get(url).status_code == 403, (user.username, url)
        assert client.post(KEYS, {"name": "k", "scopes": ["ingest"]}).status_code == 403
        assert client.post(f"{KEYS}{prefix}/rotate", {"overlap_hours": "1"}).status_code == 403
        assert client.post(f"{KEYS}{prefix}/revoke", {"confirm": "on"}).status_code == 403
    for user in (viewer, operator):
        page = browser(user).get("/flows/psa-to-billing/").content.decode()
        assert "api-keys-link" not in page and prefix not in page
    assert FlowAPIKey.objects.count() == 1 and works(existing)
    assert key_entries().count() == 1  # the admin's create
    stranger = Client().get(KEYS)
    assert stranger.status_code == 302 and stranger["Location"].startswith("/accounts/login/")


def test_the_flow_page_links_admins_to_the_keys(existing, admin_user):
    page = browser(admin_user).get("/flows/psa-to-billing/").content.decode()
    assert f'href="{KEYS}"' in page and "(1 not revoked)" in page
    # The filter bar's htmx fragment is the page body only; the link is in the header.
    fragment = browser(admin_user).get("/flows/psa-to-billing/", **HX)
    assert fragment.status_code == 200


def test_a_key_of_another_flow_is_not_found_here(existing, other_flow, admin_user):
    prefix = existing.partition(".")[0]
    client = browser(admin_user)
    assert client.get(f"/flows/{other_flow.slug}/keys/{prefix}/revoke").status_code == 404
    assert (
        client.post(f"/flows/{other_flow.slug}/keys/{prefix}/revoke", {"confirm": "on"}).status_code
        == 404
    )
    assert works(existing)


def test_the_keys_page_is_whole_for_htmx_too(existing, admin_user):
    # No fragment of its own: an htmx request gets the page, like a plain one.
    response = browser(admin_user).get(KEYS, **HX)
    assert response.status_code == 200 and "<html" in response.content.decode()
