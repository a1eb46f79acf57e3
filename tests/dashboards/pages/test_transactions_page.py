"""The transactions explorer: filters, sorts, cursor pages, the live count, CSV export."""

import csv
import io

import pytest
from django.test import Client

from dashboards.views import transactions as view
from tests.conftest import browser

from .scenario import HX, build, rows_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


def test_the_list_shows_every_transaction_newest_news_first(ledger, viewer):
    response = browser(viewer).get("/transactions/")
    assert response.status_code == 200
    assert rows_of(response.content.decode()) == [
        "P-NEW",
        "P-FAIL-2",
        "P-FAIL-1",
        "P-DONE",
        "P-STUCK",
    ]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("status=failed", {"P-FAIL-1", "P-FAIL-2"}),
        ("status=failed&status=stuck", {"P-FAIL-1", "P-FAIL-2", "P-STUCK"}),
        ("stuck=true", {"P-STUCK"}),
        ("region=NA", {"P-FAIL-2", "P-NEW"}),
        ("q=acme", {"P-DONE", "P-FAIL-1"}),
        ("q=P-FAIL", {"P-FAIL-1", "P-FAIL-2"}),
        ("min_amount=300&max_amount=600", {"P-FAIL-1", "P-FAIL-2"}),
        ("risk=failed", {"P-FAIL-1", "P-FAIL-2"}),
        ("risk=any&region=EMEA", {"P-FAIL-1", "P-STUCK"}),
        ("error_code=ERP-422", {"P-FAIL-1"}),
        ("stage=invoice_posted", {"P-FAIL-2"}),
        ("started_within=24h", {"P-FAIL-1", "P-FAIL-2", "P-NEW"}),
    ],
)
def test_filters(ledger, viewer, query, shown):
    assert set(rows_of(browser(viewer).get(f"/transactions/?{query}").content.decode())) == shown


def test_sort_by_amount(ledger, viewer):
    html = browser(viewer).get("/transactions/?sort=amount").content.decode()
    assert rows_of(html) == ["P-STUCK", "P-FAIL-1", "P-FAIL-2", "P-DONE", "P-NEW"]


def test_bad_filter_values_say_so(ledger, viewer):
    html = (
        browser(viewer)
        .get("/transactions/?min_amount=lots&started_within=forever")
        .content.decode()
    )
    assert "Enter a number" in html and "window must be" in html


def every_page(user, query: str) -> list[str]:
    """The rows of the explorer for ``query``, following its pager's cursor to the end."""
    client = browser(user)
    seen, url = [], f"/transactions/?{query}"
    for _ in range(5):
        html = client.get(url).content.decode()
        seen += rows_of(html)
        pager = html.split('<div class="pager">', 1)[1]
        if "cursor=" not in pager:
            break
        cursor = pager.split("cursor=", 1)[1].split('"', 1)[0]
        url = f"/transactions/?{query}&cursor={cursor}"
    return seen


def test_cursor_pages_cover_every_row_once(ledger, viewer, monkeypatch):
    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    assert every_page(viewer, "sort=amount") == [
        "P-STUCK", "P-FAIL-1", "P-FAIL-2", "P-DONE", "P-NEW"
    ]  # fmt: skip


def test_newest_first_among_statuses_pages_by_the_state_rows(ledger, viewer, monkeypatch):
    """Filtered by status, "latest news" reads the state rows' index; pages still join up."""
    monkeypatch.setattr(view, "PAGE_SIZE", 1)
    assert every_page(viewer, "status=failed&status=stuck") == ["P-FAIL-2", "P-FAIL-1", "P-STUCK"]


def test_a_broken_cursor_says_so(ledger, viewer):
    html = browser(viewer).get("/transactions/?cursor=not-a-cursor").content.decode()
    assert "That page link is broken" in html and rows_of(html) == []


def test_the_count_loads_and_refreshes_as_a_fragment(ledger, viewer):
    response = browser(viewer).get("/transactions/?status=failed&part=count", **HX)
    html = response.content.decode()
    assert html.lstrip().startswith('<span id="count"') and "2 transactions" in html
    assert 'hx-trigger="every 30s"' in html and "HX-Request" in response["Vary"]


def test_htmx_gets_the_table_only(ledger, viewer):
    html = browser(viewer).get("/transactions/?status=stuck", **HX).content.decode()
    assert html.lstrip().startswith('<section id="page-body">') and "<html" not in html
    assert rows_of(html) == ["P-STUCK"]


def test_the_csv_export_streams_every_matching_row(ledger, viewer, monkeypatch):
    monkeypatch.setattr(view, "PAGE_SIZE", 1)  # the export is not limited to one page
    response = browser(viewer).get("/transactions/?region=NA&format=csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["correlation_id"] for row in table) == ["P-FAIL-2", "P-NEW"]
    # A customer name that a spreadsheet would run as a formula is quoted.
    assert {row["customer"] for row in table} == {"'=cmd()", "Initech"}
    assert {row["journey"] for row in table} == {"billing"}


def test_roles(ledger, viewer, operator, admin_user, outsider):
    for user in (viewer, operator, admin_user):
        assert browser(user).get("/transactions/").status_code == 200
    assert browser(outsider).get("/transactions/").status_code == 403
    assert browser(outsider).get("/transactions/?format=csv").status_code == 403
    assert Client().get("/transactions/").status_code == 302


def test_both_forms_keep_the_filters_they_do_not_show(ledger, viewer):
    html = (
        browser(viewer)
        .get(
            "/transactions/?status=failed&status=stuck&reached=invoice_generated&started_within=30d"
        )
        .content.decode()
    )
    bar, search = (
        html.split('aria-label="Filters"', 1)[1].split("</form>", 1)[0],
        html.split('aria-label="Search transactions"', 1)[1].split("</form>", 1)[0],
    )
    for kept in ('name="status" value="failed"', 'name="status" value="stuck"',
                 'name="reached" value="invoice_generated"'):  # fmt: skip
        assert kept in bar
    assert 'name="reached" value="invoice_generated"' in search
    assert 'name="started_within" value="30d"' in search


def test_an_export_with_a_bad_filter_says_why_instead_of_sending_nothing(ledger, viewer):
    for url in ("/transactions/?stuck=maybe&format=csv", "/contracts/?has_breaks=maybe&format=csv"):
        response = browser(viewer).get(url)
        assert response.status_code == 400
        assert "true or false" in response.content.decode()
