"""Every tile of the overview opens the rows it counts, and their total equals the tile."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from c2c_ops.display import duration
from dashboards.models import FxRate
from tests.conftest import browser
from tests.dashboards.helpers import report, step

from .scenario import HX, build, rows_of
from .test_overview import figure, tile

pytestmark = pytest.mark.django_db
WINDOW = "7d"


@pytest.fixture
def ledger(ingest_client):
    found = build(ingest_client)
    # Work approved 30 hours ago, invoice due within 2 business days: due within a day.
    report(
        ingest_client,
        step(
            "P-SOON", "work_approved", timezone.now() - timedelta(hours=30), amount="70.00",
            currency="USD", region="NA", business_unit="Advisory",
        ),
    )  # fmt: skip
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return found


def overview(client) -> str:
    return client.get(f"/?window={WINDOW}").content.decode()


def summary(client) -> dict:
    return client.get(f"/api/v1/metrics/summary?window={WINDOW}").json()


def href_of(html: str, key: str) -> str:
    found = re.search(r'<h2><a href="([^"]+)">', tile(html, key))
    assert found, f"the {key} tile is not a link"
    return found[1].replace("&amp;", "&")


def opened(client, href: str) -> tuple[list[str], str]:
    """The rows a link lists, and the total its page shows (the count fragment)."""
    rows = rows_of(client.get(href).content.decode())
    total = client.get(f"{href}&part=count", **HX).content.decode()
    return rows, total


def money_of(total: str) -> Decimal:
    return Decimal(re.search(r'id="total-money" title="([-\d.]+) USD"', total)[1])


def test_revenue_at_risk_lists_its_transactions_and_their_money(ledger, viewer):
    client = browser(viewer)
    rows, total = opened(client, href_of(overview(client), "revenue-at-risk"))
    assert sorted(rows) == ["P-FAIL-1", "P-FAIL-2", "P-STUCK"]
    assert "3 transactions" in total
    assert money_of(total) == Decimal(summary(client)["revenue_at_risk"]["amount"]) == 1800


def test_at_risk_within_a_day_lists_what_falls_due(ledger, viewer):
    client = browser(viewer)
    rows, total = opened(client, href_of(overview(client), "at-risk-soon"))
    assert rows == ["P-SOON"]
    assert money_of(total) == Decimal(summary(client)["at_risk_soon"]["amount"]) == 70


def test_stuck_lists_the_stuck_transactions_with_their_money(ledger, viewer):
    client = browser(viewer)
    rows, total = opened(client, href_of(overview(client), "stuck"))
    assert rows == ["P-STUCK"] and summary(client)["stuck_count"] == 1
    assert re.search(r"\b1 transaction\s", total) and money_of(total) == 1000


def test_failure_rate_opens_the_failed_reports_it_counts(ledger, viewer):
    client = browser(viewer)
    href = href_of(overview(client), "failure-rate")
    assert href.startswith("/reports/?")
    page = client.get(href).content.decode()
    assert re.findall(r'href="/transactions/([^/]+)/"', page) == ["P-FAIL-2", "P-FAIL-1"]
    total = client.get(f"{href}&part=total", **HX).content.decode()
    # 2 failed of the 11 outcomes the scenario reports (every step is an outcome)
    reported = re.search(r"of (\d+) outcomes reported", total)[1]
    assert "2 failed" in total
    assert summary(client)["failure_rate"] == pytest.approx(2 / int(reported), abs=1e-6)


def test_billing_latency_opens_the_measured_transactions_slowest_first(ledger, viewer):
    client = browser(viewer)
    figures = summary(client)["billing_latency"]
    rows, total = opened(client, href_of(overview(client), "billing-latency"))
    assert rows == ["P-DONE"]  # the one transaction that reached invoice_posted
    assert figures["count"] == 1
    shown = f"p50 {duration(figures['p50_seconds'])} / p95 {duration(figures['p95_seconds'])}"
    assert shown in total
    page = client.get(href_of(overview(client), "billing-latency")).content.decode()
    assert '<td class="num latency">2.0h</td>' in page
    assert "slowest first" in page


def test_each_sla_tile_opens_the_breaches_of_its_policy(ledger, viewer):
    client = browser(viewer)
    html = overview(client)
    policies = {p["policy"]: p for p in summary(client)["sla"]}
    billing = policies["billing-latency"]
    rows, total = opened(client, href_of(html, "sla-billing-latency"))
    assert billing["breached"] == len(rows) == 1 and rows == ["P-STUCK"]
    assert re.search(rf"\b{billing['breached']} transaction\s", total)
    for slug, figures in policies.items():
        rows, _ = opened(client, href_of(html, f"sla-{slug}"))
        assert len(rows) == figures["breached"], slug


def test_the_drilled_list_says_what_figure_it_stands_for(ledger, viewer):
    client = browser(viewer)
    page = client.get(href_of(overview(client), "sla-billing-latency")).content.decode()
    assert re.search(r'<p class="drill" id="drill">Breaches of the SLA “Billing latency', page)
    page = client.get(href_of(overview(client), "at-risk-soon")).content.decode()
    assert '<p class="drill" id="drill">At risk within a day, as of' in page


def test_a_list_by_age_keeps_only_that_age(ledger, viewer):
    client = browser(viewer)
    as_of = summary(client)  # taken by compute_metrics: the latest snapshot
    assert as_of["as_of"]
    rows, total = opened(client, "/transactions/?risk=any&age=3d_7d")
    assert rows == ["P-STUCK"] and money_of(total) == 1000  # stuck since 3 days ago
    rows, _ = opened(client, "/transactions/?risk=any&age=lt_1d")
    assert sorted(rows) == ["P-FAIL-1", "P-FAIL-2"]


def test_an_unknown_policy_is_an_error_not_everything(ledger, viewer):
    html = browser(viewer).get("/transactions/?breached=nope").content.decode()
    assert "breached:" in html and rows_of(html) == []


def test_money_in_other_currencies_adds_up_to_the_cent(ingest_client, viewer):
    now = timezone.now()
    FxRate.objects.create(date=now.date() - timedelta(days=40), currency="EUR", rate="1.0837")
    steps = []
    for index, amount in enumerate(("333.33", "0.07", "1234.56")):
        cid = f"EU-{index}"
        steps += [
            step(cid, "work_approved", now - timedelta(hours=5), amount=amount, currency="EUR"),
            step(cid, "invoice_generated", now - timedelta(hours=4), "failed"),
        ]
    report(ingest_client, *steps)
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = browser(viewer)

    rows, total = opened(client, href_of(overview(client), "revenue-at-risk"))

    assert len(rows) == 3
    assert money_of(total) == Decimal(summary(client)["revenue_at_risk"]["amount"])
    assert money_of(total) == (Decimal("1567.96") * Decimal("1.0837")).quantize(Decimal("0.01"))


def test_each_segment_of_risk_by_age_opens_what_it_counts(ledger, viewer):
    client = browser(viewer)
    bars = figure(overview(client), "age")["data"]
    assert {trace["name"] for trace in bars} == {"Failed", "Stuck"}
    for trace in bars:
        for count, amount, url in zip(trace["text"], trace["y"], trace["customdata"], strict=True):
            rows, total = opened(client, url)
            assert len(rows) == int(count), url
            assert money_of(total) == Decimal(str(amount)).quantize(Decimal("0.01")), url


def test_the_sla_and_latency_points_open_what_they_count(ledger, viewer):
    client = browser(viewer)
    html = overview(client)
    figures = summary(client)
    breached = next(p for p in figures["sla"] if p["policy"] == "billing-latency")["breached"]
    points = figure(html, "sla")["data"][0]
    found = [rows for url in points["customdata"] for rows in opened(client, url)[0]]
    assert len(found) == breached and found == ["P-STUCK"]
    p95 = next(t for t in figure(html, "latency")["data"] if t["name"] == "p95")
    found = [rows for url in p95["customdata"] for rows in opened(client, url)[0]]
    assert len(found) == figures["billing_latency"]["count"] == 1


def test_a_chart_of_one_moment_spans_an_hour_not_a_millisecond(viewer, ingest_client):
    now = timezone.now()
    report(
        ingest_client,
        step("P-1", "work_approved", now - timedelta(minutes=3), amount="5", currency="USD"),
        step("P-1", "invoice_generated", now - timedelta(minutes=2), "failed"),
    )
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    risk = figure(browser(viewer).get("/?window=24h").content.decode(), "risk")
    start, end = (datetime.fromisoformat(t) for t in risk["layout"]["xaxis"]["range"])
    assert end - start == timedelta(hours=1)
    # and its one bar is as wide as its 5-minute interval, most of it (not 1 ms)
    assert risk["data"][0]["width"] == 0.8 * 300 * 1000
