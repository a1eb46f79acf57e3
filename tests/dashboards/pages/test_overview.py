"""The overview: tiles, charts, the filter bar, and numbers that open their transactions."""

import re

import orjson
import pytest
from django.test import Client

from tests.conftest import browser
from tests.dashboards.helpers import plotly_checked

from .scenario import HX, build, rows_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


def tile(html: str, key: str) -> str:
    found = re.search(rf'<article class="tile" id="tile-{key}">(.*?)</article>', html, re.S)
    assert found, f"no {key} tile"
    return found[1]


def figure(html: str, name: str) -> dict:
    found = re.search(
        rf'<script type="application/json" id="figure-{name}">(.*?)</script>', html, re.S
    )
    assert found, f"no {name} chart"
    return orjson.loads(found[1])


def listed(client, href: str) -> list[str]:
    # As a browser follows the href: &amp; is &, and %2B in as_of stays encoded. (Not
    # html.unescape: it reads "&region" as "®ion".)
    html = client.get(href.replace("&amp;", "&")).content.decode()
    return rows_of(html)


def test_the_landing_page_is_the_overview(ledger, viewer):
    response = browser(viewer).get("/")
    html = response.content.decode()
    assert response.status_code == 200 and "<h1>Overview</h1>" in html
    assert ">1<" in tile(html, "stuck").replace(" ", "").replace("\n", "")
    assert "1,800 USD" in tile(html, "revenue-at-risk")  # 500 + 300 failed, 1,000 stuck
    assert "billing-latency" in html and "objective 99.0%" in html
    assert 'src="/static/vendor/plotly.min.js"' in html and "cdn" not in html.lower()
    assert "HX-Request" in response["Vary"]


def test_every_chart_is_sent_as_plotly_json(ledger, viewer):
    html = browser(viewer).get("/").content.decode()
    for name in ("risk", "age", "sla", "latency", "breakdown", "funnel"):
        chart = plotly_checked(figure(html, name))
        assert chart["data"] and chart["layout"]["template"]["layout"]["colorway"]
    funnel = figure(html, "funnel")["data"][0]
    assert funnel["type"] == "sankey"
    assert funnel["node"]["label"][0] == "work approved · 5"  # every transaction got there
    assert len(set(funnel["node"]["color"])) > 1  # stages and outcomes in the palette


def test_the_latency_chart_draws_the_series_the_api_serves(ledger, viewer):
    client = browser(viewer)
    traces = {t["name"]: t for t in figure(client.get("/").content.decode(), "latency")["data"]}
    for label in ("p50", "p95"):
        served = client.get(f"/api/v1/metrics/series?metric=latency_{label}&window=30d").json()
        points = served["series"][0]["points"]
        assert points, "the scenario has billing latency"
        assert traces[label]["x"] == [p["t"] for p in points]
        assert traces[label]["y"] == [p["value"] / 3600 for p in points]


def test_the_stuck_tile_opens_exactly_the_stuck_transactions(ledger, viewer):
    client = browser(viewer)
    html = client.get("/").content.decode()
    href = re.search(r'<h2><a href="([^"]+)">Stuck transactions</a>', tile(html, "stuck"))[1]
    assert listed(client, href) == ["P-STUCK"]


def test_revenue_at_risk_opens_every_transaction_it_counts(ledger, viewer):
    client = browser(viewer)
    html = client.get("/").content.decode()
    href = re.search(r'<h2><a href="([^"]+)">Revenue at risk</a>', tile(html, "revenue-at-risk"))[1]
    assert sorted(listed(client, href)) == ["P-FAIL-1", "P-FAIL-2", "P-STUCK"]


def test_each_region_bar_opens_the_transactions_it_counts(ledger, viewer):
    client = browser(viewer)
    bars = figure(client.get("/").content.decode(), "breakdown")["data"]
    assert bars, "the breakdown has no bars"
    for trace in bars:
        for count, url in zip(trace["text"], trace["customdata"], strict=True):
            assert len(listed(client, url)) == int(count), url


def test_the_filter_bar_narrows_the_figures_and_keeps_its_state(ledger, viewer):
    client = browser(viewer)
    html = client.get("/?window=7d&region=NA").content.decode()
    assert "300 USD" in tile(html, "revenue-at-risk")
    assert '<option value="7d" selected>' in html and "<option selected>NA</option>" in html
    href = re.search(r'<h2><a href="([^"]+)">Revenue at risk</a>', tile(html, "revenue-at-risk"))[1]
    assert "region=NA" in href
    assert listed(client, href) == ["P-FAIL-2"]


def test_a_bad_period_says_so_and_falls_back(ledger, viewer):
    response = browser(viewer).get("/?window=forever")
    assert response.status_code == 200
    assert (
        "window:" in response.content.decode()
        and "Select a valid choice" in response.content.decode()
    )


def test_the_tiles_refresh_as_a_fragment(ledger, viewer):
    response = browser(viewer).get("/?window=30d&part=tiles", **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="tiles"') and "<html" not in html
    assert 'hx-trigger="every 30s"' in html and "figure-risk" not in html


def test_the_filter_bar_swaps_the_page_body(ledger, viewer):
    html = browser(viewer).get("/?region=EMEA", **HX).content.decode()
    assert html.lstrip().startswith('<div id="page-body">') and "<html" not in html
    assert 'id="tiles"' in html and "figure-breakdown" in html


def test_outsiders_and_strangers_are_kept_out(ledger, outsider):
    assert browser(outsider).get("/").status_code == 403
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_empty_ledger_still_renders(viewer):
    response = browser(viewer).get("/")
    assert response.status_code == 200 and "<h1>Overview</h1>" in response.content.decode()


def test_each_flow_of_the_funnel_opens_the_transactions_it_counts(ledger, viewer):
    client = browser(viewer)
    sankey = figure(client.get("/").content.decode(), "funnel")["data"][0]["link"]
    assert sankey["value"], "the funnel has no flows"
    for value, url in zip(sankey["value"], sankey["customdata"], strict=True):
        assert len(listed(client, url)) == value, url
