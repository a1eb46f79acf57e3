"""A finance leader checks the overview number by number in real chromium: each tile opens
its list and the list's total is the tile's figure; then a transaction's trace, and its
contract. Screenshots of every page go to tests/artifacts/."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.dashboards.helpers import report, step
from tracking.models import Span

from ...browser import shot
from .scenario import build
from .test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def ledger(ingest_client) -> None:
    build(ingest_client)
    now = timezone.now()
    report(
        ingest_client,
        step(
            "P-CON", "work_approved", now - timedelta(hours=10), amount="400.00",
            currency="USD", region="EMEA", business_unit="Consulting", contract="C-ACME",
        ),
        step("P-CON", "invoice_generated", now - timedelta(hours=9), "failed",
             error={"code": "TAX-CODE-MISSING"}),
    )  # fmt: skip
    began = now - timedelta(hours=9)
    Span.objects.bulk_create(
        Span(
            trace_id="c" * 32, span_id=sid, parent_span_id=parent, name=name,
            service_name="psa-to-billing", start_time=began + timedelta(milliseconds=start),
            end_time=began + timedelta(milliseconds=end), status_code=code,
            status_message="tax code missing" if code == 2 else "", correlation_id="P-CON",
            attributes={"c2c.stage": "invoice_generated", "http.status_code": 422},
            received_at=now,
        )
        for sid, parent, name, start, end, code in (
            ("b1", "", "POST /invoices", 0, 640, 2),
            ("b2", "b1", "tax.lookup", 20, 600, 2),
            ("b3", "b1", "customer.fetch", 5, 18, 1),
        )
    )  # fmt: skip
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115


def figure_of(page, key: str) -> str:
    return " ".join(page.locator(f"#tile-{key} .figure").inner_text().split())


def open_tile(page, key: str) -> None:
    page.locator(f"#tile-{key} h2 a").click()
    page.wait_for_load_state()


def total_shown(page) -> str:
    page.wait_for_selector("#count:not(:has-text('counting'))")
    return " ".join(page.locator("#count").inner_text().split())


def test_a_finance_leader_checks_every_tile_then_a_trace_and_its_contract(
    live_server, page, viewer, ingest_client
):
    ledger(ingest_client)
    base = live_server.url
    sign_in(page, base, viewer)
    page.goto(f"{base}/?window=7d")
    shot(page, "finance-overview")
    keys = page.locator("article.tile").evaluate_all("els => els.map(e => e.id.slice(5))")
    linked = [k for k in keys if page.locator(f"#tile-{k} h2 a").count()]
    assert set(keys) - set(linked) == set(), "every tile opens its rows"

    for key in linked:
        page.goto(f"{base}/?window=7d")
        figure = figure_of(page, key)
        breached = page.locator(f"#tile-{key} .change").all_inner_texts()
        open_tile(page, key)
        if key == "failure-rate":
            page.wait_for_selector("#total:not(:has-text('counting'))")
            total = page.locator("#total").inner_text()
            assert f"({figure})" in total, (key, figure, total)
        elif key == "reconciliation":
            assert page.url.startswith(f"{base}/contracts/")
        else:
            total = total_shown(page)
            if key.startswith("sla-"):
                count = re.search(r"(\d+) breached", " ".join(breached))
                assert total.startswith(f"{count[1] if count else 0} transaction"), (key, total)
            elif key == "stuck":
                assert total.startswith(f"{figure} transaction"), (key, total)
            elif figure.endswith("USD"):
                assert f"total {figure}" in total, (key, figure, total)
            else:  # latencies: the list's own p50 / p95
                p50, p95 = figure.split(" / ")
                assert f"p50 {p50} / p95 {p95}" in total, (key, figure, total)
        shot(page, f"finance-tile-{key}")

    # Revenue at risk -> the transaction behind it -> its trace -> its contract.
    page.goto(f"{base}/?window=7d")
    open_tile(page, "revenue-at-risk")
    total_shown(page)
    page.get_by_role("link", name="P-CON").click()
    page.wait_for_url("**/transactions/P-CON/")
    spans = page.locator("#waterfall li.wf-span")
    assert spans.count() == 3
    failing = page.locator('#waterfall li.wf-span[data-span-id="b2"]')
    assert "error" in failing.get_attribute("class")
    failing.locator("summary").click()
    assert "http.status_code" in failing.locator("dl.wf-attrs").inner_text()
    shot(page, "finance-transaction-trace")
    page.locator("#contract-link").click()
    page.wait_for_url("**/contracts/C-ACME/")
    assert "P-CON" in page.content()
    shot(page, "finance-contract")
