"""A finance viewer in real chromium: reads the overview, clicks the largest region bar,
opens a stuck transaction and its timeline; the filter bar survives a reload; CSV exports."""

import pytest

from tests.conftest import PASSWORD

from ...browser import shot
from .scenario import build

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, base: str, user) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def drawn(page, chart: str) -> None:
    page.wait_for_selector(f"#chart-{chart} .plot[data-drawn] .main-svg")


def test_a_viewer_drills_from_the_overview_to_a_stuck_transaction(
    live_server, page, viewer, ingest_client
):
    build(ingest_client)
    sign_in(page, live_server.url, viewer)
    assert "1,800 USD" in page.locator("#tile-revenue-at-risk").inner_text()
    for chart in ("risk", "age", "sla", "latency", "breakdown", "funnel"):
        drawn(page, chart)
    shot(page, "dashboards-overview")

    # The tallest bar of the region x unit breakdown: EMEA, 1,500 at risk.
    page.locator("#chart-breakdown").scroll_into_view_if_needed()
    boxes = page.locator("#chart-breakdown .bars .point path").evaluate_all(
        "els => els.map(e => { const b = e.getBoundingClientRect();"
        " return {x: b.x + b.width / 2, y: b.y + b.height / 2, h: b.height}; })"
    )
    tallest = max(boxes, key=lambda b: b["h"])
    # Plotly finds the clicked mark from the hover it computed on the way in.
    page.mouse.move(tallest["x"], tallest["y"])
    page.wait_for_selector("#chart-breakdown .hoverlayer .hovertext")
    page.mouse.click(tallest["x"], tallest["y"])
    page.wait_for_url("**/transactions/?**risk=any**")
    assert "region=EMEA" in page.url
    rows = page.locator("tbody tr[id^=txn-]")
    assert {t.split()[0] for t in rows.all_inner_texts()} == {"P-FAIL-1", "P-STUCK"}
    page.wait_for_selector("#count:not(:has-text('counting'))")
    assert page.locator("#count").inner_text().startswith("2 transactions")
    shot(page, "dashboards-transactions")

    page.get_by_role("link", name="P-STUCK").click()
    page.wait_for_url("**/transactions/P-STUCK/")
    assert "overdue by" in page.locator("#sla-clock").inner_text()
    page.wait_for_selector("#waterfall .wf-report")
    shot(page, "dashboards-transaction")


def test_the_filter_bar_survives_a_reload(live_server, page, viewer, ingest_client):
    build(ingest_client)
    sign_in(page, live_server.url, viewer)
    page.select_option("form.filterbar select[name=region]", "NA")
    page.wait_for_url("**/?*region=NA*")
    page.wait_for_function(
        "() => document.querySelector('#tile-revenue-at-risk').textContent.includes('300 USD')"
    )
    page.reload()
    assert page.locator("form.filterbar select[name=region]").input_value() == "NA"
    assert "300 USD" in page.locator("#tile-revenue-at-risk").inner_text()


def test_the_csv_export_downloads(live_server, page, viewer, ingest_client):
    build(ingest_client)
    sign_in(page, live_server.url, viewer)
    page.goto(f"{live_server.url}/transactions/?status=failed")
    with page.expect_download() as started:
        page.get_by_role("link", name="Export CSV").click()
    download = started.value
    assert download.suggested_filename.startswith("c2c-transactions-")
    lines = download.path().read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("correlation_id,journey,current_stage,status")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["P-FAIL-1", "P-FAIL-2"]
