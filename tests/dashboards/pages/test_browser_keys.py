"""An admin makes a flow key in real chromium, copies it with the Copy button (a static
script: the pages allow no inline one), sees it work, then revokes it. Screenshots go to
tests/artifacts/."""

import pytest
from playwright.sync_api import expect

from tests.conftest import key_client
from tests.tracking.factories import event

from ...browser import shot
from .test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def works(key: str) -> bool:
    answer = key_client(key).post("/api/v1/events", event("work_approved"), format="json")
    return answer.status_code == 202


def test_an_admin_creates_copies_and_revokes_a_key(live_server, page, admin_user, flow):
    base = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, base, admin_user)
    page.goto(f"{base}/flows/{flow.slug}/")
    page.click("#api-keys-link")
    page.wait_for_url(f"{base}/flows/{flow.slug}/keys/")
    page.fill("input[name=name]", "billing prod")
    page.check("input[name=scopes][value=ingest]")
    page.click("#create-key button[type=submit]")
    key = page.locator("#new-key-value").inner_text().strip()
    copy = page.locator("button[data-copy]")
    copy.click()
    expect(copy).to_have_text("Copied")  # the clipboard answers asynchronously
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, "flow-key-created")
    assert works(key)

    page.goto(f"{base}/flows/{flow.slug}/keys/")
    assert key not in page.content() and "billing prod" in page.content()
    page.click(f"#key-{key.partition('.')[0]} >> text=Revoke")
    page.click("#revoke-key button[type=submit]")
    page.wait_for_url(f"{base}/flows/{flow.slug}/keys/")
    shot(page, "flow-key-revoked")
    assert "revoked" in page.locator("#keys").inner_text()
    assert not works(key)
