"""In chromium: htmx requests nobody asked for (a poll, a part fetched on load) carry
X-C2C-Background, and those a click set off do not (static/js/app.js, c2c_ops/idle.py)."""

import pytest

from ..dashboards.pages.scenario import build
from ..dashboards.pages.test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_background_requests_are_marked_and_clicks_are_not(
    live_server, page, viewer, ingest_client
):
    build(ingest_client)
    sign_in(page, live_server.url, viewer)
    seen: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda r: (
            r.headers.get("hx-request") and seen.append((r.url, r.headers.get("x-c2c-background")))
        ),
    )
    page.goto(f"{live_server.url}/transactions/")
    page.wait_for_selector("#count:not(:has-text('counting'))")
    counts = [flag for url, flag in seen if "part=count" in url]
    assert counts == ["1"], seen

    seen.clear()
    page.locator("form.filterbar button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    clicked = [flag for url, flag in seen if "part=" not in url]
    assert clicked and set(clicked) == {None}, seen
