"""One transaction's page: stages, SLA clock, the waterfall of its trace and reports, its
cases."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions import intake
from tests.conftest import browser
from tests.dashboards.helpers import TODAY, report, step
from tracking.models import Span

from .scenario import HX, build

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


def span_rows(html: str) -> list[tuple[str, int, bool]]:
    """(span id, indent, failed) of each span row of the waterfall, top to bottom."""
    found = re.findall(r'<li class="wf-row wf-span d(\d+)( error)?" data-span-id="(\w+)"', html)
    return [(span_id, int(depth), bool(error)) for depth, error, span_id in found]


def row_of(html: str, span_id: str) -> str:
    return re.search(rf'data-span-id="{span_id}">(.*?)</li>', html, re.S)[1]


def test_a_failed_transaction_shows_where_and_why(ledger, viewer):
    response = browser(viewer).get("/transactions/P-FAIL-1/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="txn-status">Failed<' in html
    assert '<li class="stage done"><strong>work_approved</strong>' in html
    assert '<li class="stage failed"><strong>invoice_generated</strong>' in html
    assert "ERP-422" in html and "500.00 USD" in html
    assert re.search(r'<a href="/exceptions/\d+/">#\d+</a>', html), "its exception case is linked"


def test_the_waterfall_nests_spans_and_marks_failures(ledger, viewer):
    html = browser(viewer).get("/transactions/P-FAIL-1/").content.decode()
    # Parent first, then its children by start time, indented.
    assert span_rows(html) == [("a1", 0, False), ("a3", 1, False), ("a2", 1, True)]
    failed = row_of(html, "a2")
    assert '<strong class="wf-flag">error</strong>' in failed and "ERP said no" in failed
    # Scaled to the trace's own 900 ms, not to the hours around it.
    assert '<rect x="0%" width="100%"' in row_of(html, "a1")
    assert '<rect x="5.556%" width="4.444%"' in row_of(html, "a3")
    assert ">200 ms</text>" in html and ">800 ms</text>" in html
    assert "More spans" not in html


def test_the_page_needs_no_inline_script_or_style(ledger, viewer):
    html = browser(viewer).get("/transactions/P-FAIL-1/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert "style=" not in html and "plotly" not in html


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


# A trace at a fixed moment (the page reads "now" for the SLA clock only).
T = TODAY - timedelta(days=2)


def ms(n: float):
    return T + timedelta(milliseconds=n)


def spans(correlation_id: str, *rows: tuple, trace_id: str = "b" * 32) -> None:
    Span.objects.bulk_create(
        Span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name=name,
            service_name="billing-sync",
            kind=2,
            start_time=ms(start),
            end_time=ms(end),
            status_code=code,
            status_message="ERP said no" if code == 2 else "",
            attributes=attributes,
            correlation_id=correlation_id,
            received_at=T,
        )
        for span_id, parent, name, start, end, code, attributes in rows
    )


@pytest.fixture
def trace(ingest_client):
    """W-1: a 10 ms trace with a failed call in it, and two reports: one as it began, the
    failure halfway through."""
    report(
        ingest_client,
        step("W-1", "work_approved", T, amount="10.00", currency="USD"),
        step("W-1", "invoice_generated", ms(5), "failed", error={"code": "ERP-422"}),
    )
    spans(
        "W-1",
        ("0000000000000001", "", "POST /invoices", 0, 10, 1, {}),
        ("0000000000000002", "0000000000000001", "erp.post", 2, 4, 2, {"http.status": 422}),
        ("0000000000000003", "0000000000000001", "tax.compute", 5, 10, 1, {"region": "EMEA"}),
    )


@pytest.mark.time_machine(TODAY)
def test_a_span_is_scaled_to_its_trace(trace, viewer):
    html = browser(viewer).get("/transactions/W-1/").content.decode()
    assert span_rows(html) == [
        ("0000000000000001", 0, False),
        ("0000000000000002", 1, True),
        ("0000000000000003", 1, False),
    ]
    # 5 ms of a 10 ms trace: half wide, from the middle.
    assert '<rect x="50%" width="50%"' in row_of(html, "0000000000000003")
    assert '<rect x="20%" width="20%"' in row_of(html, "0000000000000002")
    assert ">10 ms</text>" in html and ">5 ms</span>" in row_of(html, "0000000000000003")


@pytest.mark.time_machine(TODAY)
def test_status_reports_are_on_the_same_time_line(trace, viewer):
    html = browser(viewer).get("/transactions/W-1/").content.decode()
    reports = re.findall(r'<li class="wf-row wf-report (\w+)">(.*?)</li>', html, re.S)
    assert [status for status, _ in reports] == ["succeeded", "failed"]
    began, failed = (body for _, body in reports)
    assert 'x1="0%"' in began and "work_approved" in began
    assert 'x1="50%"' in failed and "ERP-422" in failed and "✕" in failed


@pytest.mark.time_machine(TODAY)
def test_a_spans_attributes_open_on_click(trace, viewer):
    row = row_of(browser(viewer).get("/transactions/W-1/").content.decode(), "0000000000000002")
    details = re.search(r"<details>.*</details>", row, re.S)[0]
    assert "<summary" in details
    assert "<dt>http.status</dt><dd>422</dd>" in details
    assert "server" in details and "ERP said no" in details


@pytest.mark.time_machine(TODAY)
def test_reports_alone_still_have_a_time_line(ledger, viewer):
    html = browser(viewer).get("/transactions/P-DONE/").content.decode()
    assert span_rows(html) == [] and 'aria-label="Trace of status reports"' in html
    assert len(re.findall(r'<li class="wf-row wf-report succeeded">', html)) == 4
    assert '<svg class="wf-scale">' in html


@pytest.fixture
def big(ingest_client):
    """W-BIG: one root of 1 s and 999 children of 1 ms each, one a millisecond."""
    report(ingest_client, step("W-BIG", "work_approved", T))
    root = ("1" * 16, "", "batch", 0, 1000, 1, {})
    kids = ((f"{n:016x}", "1" * 16, f"line {n}", n, n + 1, 1, {}) for n in range(1, 1000))
    spans("W-BIG", root, *kids)


def more_url(html: str) -> str | None:
    found = re.search(r'<p class="wf-more" id="wf-more"><a href="[^"]*" hx-get="([^"]+)"', html)
    return found[1] if found else None


@pytest.mark.time_machine(TODAY)
def test_a_trace_of_1000_spans_draws_its_first_page_only(big, viewer):
    html = browser(viewer).get("/transactions/W-BIG/").content.decode()
    rows = span_rows(html)
    assert len(rows) == 200
    assert rows[0] == ("1" * 16, 0, False) and {depth for _, depth, _ in rows[1:]} == {1}
    assert more_url(html).startswith("/transactions/W-BIG/?spans_after=")


@pytest.mark.time_machine(TODAY)
def test_more_spans_appends_the_next_ones_until_none_remain(big, viewer):
    client = browser(viewer)
    html = client.get("/transactions/W-BIG/").content.decode()
    seen, url, pages = [span_id for span_id, _, _ in span_rows(html)], more_url(html), 1
    while url:
        response = client.get(url, **HX)
        part = response.content.decode()
        assert response.status_code == 200 and "<html" not in part
        assert "HX-Request" in response["Vary"]
        rows = span_rows(part)
        # Under the root drawn on the first page: indented, and saying so.
        assert {depth for _, depth, _ in rows} == {1} and "↳ batch" in part
        assert "(continued)" in part and "wf-report" not in part
        # On the scale of the whole trace, as the first page drew it: line 200 at 20%.
        first = rows[0][0]
        assert f'<rect x="{int(first, 16) / 10:g}%" width="0.2%"' in row_of(part, first)
        assert ">1 s</text>" in part
        seen += [span_id for span_id, _, _ in rows]
        url, pages = more_url(part), pages + 1
    assert pages == 5
    assert seen == ["1" * 16, *(f"{n:016x}" for n in range(1, 1000))]


@pytest.mark.time_machine(TODAY)
def test_a_broken_more_link_says_so_instead_of_repeating_spans(big, viewer):
    part = browser(viewer).get("/transactions/W-BIG/?spans_after=nonsense", **HX)
    text = part.content.decode()
    assert part.status_code == 200 and span_rows(text) == []
    assert "broken or out of date" in text and more_url(text) is None


@pytest.mark.time_machine(TODAY)
def test_without_htmx_a_more_link_opens_the_page_at_those_spans(big, viewer):
    client = browser(viewer)
    url = more_url(client.get("/transactions/W-BIG/").content.decode())
    html = client.get(url).content.decode()
    assert "<html" in html and span_rows(html)[0] == (f"{200:016x}", 1, False)
    assert 'href="/transactions/W-BIG/#waterfall">First spans</a>' in html


def test_outsiders_get_no_spans_either(ledger, outsider):
    assert browser(outsider).get("/transactions/P-FAIL-1/?spans_after=x", **HX).status_code == 403


@pytest.mark.time_machine(TODAY)
def test_more_spans_follows_a_correlation_id_a_url_must_quote(ingest_client, viewer):
    report(ingest_client, step("SOW/7#b", "work_approved", T))
    spans("SOW/7#b", *((f"{n:016x}", "", f"op {n}", n, n + 1, 1, {}) for n in range(201)))
    client = browser(viewer)
    url = more_url(client.get("/transactions/SOW/7%23b/").content.decode())
    assert url.startswith("/transactions/SOW/7%23b/?spans_after=")
    assert span_rows(client.get(url, **HX).content.decode()) == [(f"{200:016x}", 0, False)]
