"""The flows page's CSV (one row per flow) and a flow's (its errors by code)."""

import csv
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import browser
from tests.dashboards.helpers import hours, report, step
from tracking.models import Flow

from .scenario import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


def exported(user, url: str, name: str) -> list[dict[str, str]]:
    response = browser(user).get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="c2c-{name}-\d{{8}}-\d{{4}}\.csv"', disposition)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_each_flow_is_a_row_with_the_pages_figures(ledger, viewer):
    Flow.objects.create(slug="quiet", name="=HYPERLINK(evil)", owner_team="erp")
    rows = exported(viewer, "/flows/?format=csv&window=7d", "flows")
    assert [r["flow"] for r in rows] == ["psa-to-billing", "quiet"]
    mine, quiet = rows
    assert (mine["period"], mine["started"], mine["reports"], mine["failed_reports"]) == (
        "7d", "5", "11", "2"
    )  # fmt: skip
    assert mine["failure_rate"] == "0.1818" and mine["owner_team"] == "billing"
    assert "open_exceptions" in mine  # the exception queue's column, as on the page
    assert (quiet["started"], quiet["failure_rate"]) == ("0", "")
    assert quiet["name"] == "'=HYPERLINK(evil)"


def test_the_bar_filters_apply(ledger, viewer):
    (mine,) = exported(viewer, "/flows/?format=csv&region=NA", "flows")
    assert (mine["started"], mine["failed_reports"]) == ("2", "1")  # P-FAIL-2 and P-NEW


def test_a_flows_export_has_every_error_code_of_the_period(ledger, ingest_client, viewer):
    now = timezone.now()
    report(
        ingest_client,
        step("P-EVIL", "work_approved", now - hours(51), amount="10.00", currency="USD"),
        step(
            "P-EVIL", "invoice_generated", now - hours(50), "failed",
            error={"code": "ERP-999", "message": "=cmd()"},
        ),
    )  # fmt: skip
    url, name = "/flows/psa-to-billing/?format=csv", "flow-psa-to-billing-errors"
    rows = exported(viewer, url, name)
    assert sorted(r["error_code"] for r in rows) == ["ERP-422", "ERP-500", "ERP-999"]
    evil = next(r for r in rows if r["error_code"] == "ERP-999")
    assert (evil["flow"], evil["reports"], evil["transactions"]) == ("psa-to-billing", "1", "1")
    assert evil["message"] == "'=cmd()" and evil["first_at"] and evil["last_at"]
    # The page's period applies: P-EVIL failed 50 hours ago, the others within the day.
    day = exported(viewer, f"{url}&window=24h", name)
    assert sorted(r["error_code"] for r in day) == ["ERP-422", "ERP-500"]


def test_an_invalid_period_is_refused_with_the_reason(ledger, viewer):
    for url in ("/flows/?format=csv&window=1y", "/flows/psa-to-billing/?format=csv&window=1y"):
        response = browser(viewer).get(url)
        assert response.status_code == 400 and "window" in response.content.decode()


def test_only_those_who_see_the_pages_export_them(ledger, outsider, viewer):
    for url in ("/flows/?format=csv", "/flows/psa-to-billing/?format=csv"):
        assert browser(outsider).get(url).status_code == 403
        assert Client().get(url).status_code == 302
    assert browser(viewer).get("/flows/nope/?format=csv").status_code == 404


def test_the_pages_link_their_export_with_their_filters(ledger, viewer):
    html = browser(viewer).get("/flows/?window=7d&region=NA").content.decode()
    assert 'href="/flows/?window=7d&amp;region=NA&amp;format=csv"' in html
    html = browser(viewer).get("/flows/psa-to-billing/?window=24h").content.decode()
    assert 'href="/flows/psa-to-billing/?window=24h&amp;format=csv"' in html
