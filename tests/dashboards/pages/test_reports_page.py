"""The status reports list: filters, the failed share, pages, CSV, who may read it."""

import csv
import io
import re

import pytest
from django.test import Client

from tests.conftest import browser

from .scenario import HX, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


def listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/transactions/([^/]+)/">', html)


def test_it_lists_reports_newest_first_under_the_filter_bar(ledger, viewer):
    html = browser(viewer).get("/reports/?window=7d").content.decode()
    assert "<h1>Status reports</h1>" in html
    rows = listed(html)
    assert len(rows) == 11 and rows[0] == "P-NEW"  # the newest report
    assert listed(browser(viewer).get("/reports/?window=7d&region=NA").content.decode()) == [
        "P-NEW", "P-FAIL-2", "P-FAIL-2", "P-FAIL-2",
    ]  # fmt: skip


def test_the_total_counts_the_failed_share_of_outcomes(ledger, viewer):
    total = browser(viewer).get("/reports/?window=7d&status=failed&part=total", **HX)
    text = total.content.decode()
    assert text.lstrip().startswith('<span id="total">') and "<html" not in text
    assert "2 reports listed" in text and "of 11 outcomes reported" in text
    assert "2 failed (18.2%)" in text


def test_the_body_swaps_as_a_fragment_and_pages_by_cursor(ledger, viewer, monkeypatch):
    from dashboards.views import reports

    monkeypatch.setattr(reports, "PAGE_SIZE", 4)
    client = browser(viewer)
    first = client.get("/reports/?window=7d", **HX).content.decode()
    assert first.lstrip().startswith('<section id="page-body">')
    cursor = re.search(r"cursor=([\w-]+)", first)[1]
    second = client.get(f"/reports/?window=7d&cursor={cursor}", **HX).content.decode()
    assert len(listed(first)) == len(listed(second)) == 4
    broken = client.get("/reports/?window=7d&cursor=nonsense").content.decode()
    assert "That page link is broken" in broken


def test_a_bad_filter_says_so_and_lists_nothing(ledger, viewer):
    html = browser(viewer).get("/reports/?status=maybe").content.decode()
    assert "status:" in html and listed(html) == []
    response = browser(viewer).get("/reports/?status=maybe&format=csv")
    assert response.status_code == 400 and b"status" in response.content


def test_the_csv_has_every_matching_report(ledger, viewer):
    response = browser(viewer).get("/reports/?window=7d&status=failed&format=csv")
    assert response["Content-Disposition"].startswith('attachment; filename="c2c-reports-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["correlation_id"] for r in rows) == ["P-FAIL-1", "P-FAIL-2"]
    assert {r["error_code"] for r in rows} == {"ERP-422", "ERP-500"}


def test_outsiders_and_strangers_are_kept_out(ledger, outsider):
    assert browser(outsider).get("/reports/").status_code == 403
    assert Client().get("/reports/").status_code == 302
