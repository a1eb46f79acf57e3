"""One transaction's page: stages, SLA clock, timeline of spans and reports, its cases."""

import re
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from exceptions import intake
from tests.conftest import browser
from tests.dashboards.helpers import plotly_checked
from tracking.models import Span

from .scenario import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    built = build(ingest_client)
    intake.consume()  # the failed and stuck ones get their exception cases
    now = timezone.now()
    spans = [
        ("a1", "", "POST /invoices", 0, 900, 1),
        ("a2", "a1", "erp.post_invoice", 100, 800, 2),
        ("a3", "a1", "tax.compute", 50, 90, 1),
    ]
    Span.objects.bulk_create(
        Span(
            trace_id="t" * 32,
            span_id=sid,
            parent_span_id=parent,
            name=name,
            service_name="billing-sync",
            start_time=now - timedelta(hours=19, milliseconds=-start),
            end_time=now - timedelta(hours=19, milliseconds=-end),
            status_code=code,
            status_message="ERP said no" if code == 2 else "",
            correlation_id="P-FAIL-1",
            received_at=now,
        )
        for sid, parent, name, start, end, code in spans
    )
    return built


def figure(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="figure-timeline">(.*?)</script>', html, re.S
    )
    return plotly_checked(orjson.loads(found[1]))


def test_a_failed_transaction_shows_where_and_why(ledger, viewer):
    response = browser(viewer).get("/transactions/P-FAIL-1/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="txn-status">Failed<' in html
    assert '<li class="stage done"><strong>work_approved</strong>' in html
    assert '<li class="stage failed"><strong>invoice_generated</strong>' in html
    assert "ERP-422" in html and "500.00 USD" in html
    assert re.search(r'<a href="/exceptions/\d+/">#\d+</a>', html), "its exception case is linked"


def test_the_timeline_nests_spans_and_marks_failures(ledger, viewer):
    chart = figure(browser(viewer).get("/transactions/P-FAIL-1/").content.decode())
    ticks = chart["layout"]["yaxis"]["ticktext"]
    # Parent first, then its children by start time, indented; status reports last.
    assert [t.strip("\u2003") for t in ticks] == [
        "POST /invoices",
        "tax.compute",
        "erp.post_invoice",
        "status reports",
    ]
    assert ticks[1].startswith("\u2003") and not ticks[0].startswith("\u2003")
    failed = next(t for t in chart["data"] if t["name"] == "Failed span")
    assert failed["text"] == ["erp.post_invoice"] and failed["marker"]["pattern"]["shape"] == "x"
    reports = next(t for t in chart["data"] if t["name"] == "Failed report")
    assert reports["marker"]["symbol"] == "x"


def test_a_stuck_transaction_shows_its_overdue_clock(ledger, viewer):
    html = browser(viewer).get("/transactions/P-STUCK/").content.decode()
    clock = re.search(r'<p id="sla-clock" class="error-text">(.*?)</p>', html, re.S)
    assert clock and "overdue by" in clock[1]


def test_a_moving_transaction_shows_the_time_left(ledger, viewer):
    html = browser(viewer).get("/transactions/P-NEW/").content.decode()
    assert re.search(r'<p id="sla-clock" class="">.*left\.', html, re.S)


def test_unknown_ids_are_404_and_outsiders_403(ledger, viewer, outsider):
    assert browser(viewer).get("/transactions/NOPE/").status_code == 404
    assert browser(outsider).get("/transactions/P-FAIL-1/").status_code == 403
