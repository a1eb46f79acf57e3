"""The queue's CSV: every case the page's filters leave, in the page's order."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from exceptions import intake
from exceptions.models import ExceptionCase
from tests.conftest import browser
from tests.dashboards.helpers import report

from .helpers import billing, failed_case, failure

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(ingest_client, flow):
    small = failed_case(ingest_client, "SOW-SMALL", amount="100.00")
    big = failed_case(ingest_client, "SOW-BIG", amount="90000.00")
    report(
        ingest_client,
        billing("SOW-OLD", "work_approved", "succeeded", amount="5000.00", currency="USD"),
        failure("SOW-OLD", error={"code": "ERP-500", "message": "=HYPERLINK(evil)"}),
    )
    intake.consume()
    old = ExceptionCase.objects.get(correlation_id="SOW-OLD")
    # Money x age: 5,000 stuck for 30 days outranks 90,000 for an hour.
    now = timezone.now()
    ExceptionCase.objects.filter(pk=old.pk).update(opened_at=now - timedelta(days=30))
    ExceptionCase.objects.filter(pk__in=[small.pk, big.pk]).update(
        opened_at=now - timedelta(hours=1)
    )
    return {"small": small, "big": big, "old": old}


def exported(user, query: str = "") -> list[dict[str, str]]:
    response = browser(user).get(f"/exceptions/?format=csv&{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="c2c-exceptions-\d{8}-\d{4}\.csv"', disposition)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_has_the_filtered_cases_in_the_pages_order(cases, viewer):
    rows = exported(viewer, "min_amount=1000")
    assert [r["correlation_id"] for r in rows] == ["SOW-OLD", "SOW-BIG"]
    old = rows[0]
    assert old["position"] == "1" and old["case_id"] == str(cases["old"].pk)
    assert (old["kind"], old["status"], old["stage"], old["flow"]) == (
        "failed", "open", "invoice_generated", "psa-to-billing"
    )  # fmt: skip
    assert (old["amount"], old["currency"], old["team"], old["owner"]) == (
        "5000.00", "USD", "billing", ""
    )  # fmt: skip
    assert 719 < float(old["age_hours"]) < 721
    by_amount = exported(viewer, "sort=amount")
    assert [r["correlation_id"] for r in by_amount] == ["SOW-BIG", "SOW-OLD", "SOW-SMALL"]


def test_the_default_statuses_apply_as_on_the_page(cases, viewer):
    ExceptionCase.objects.filter(pk=cases["small"].pk).update(status="resolved")
    assert {r["correlation_id"] for r in exported(viewer)} == {"SOW-OLD", "SOW-BIG"}
    assert [r["correlation_id"] for r in exported(viewer, "status=resolved")] == ["SOW-SMALL"]


def test_a_cell_a_spreadsheet_would_run_is_quoted(cases, viewer):
    (old,) = exported(viewer, "correlation_id=SOW-OLD")
    assert old["error_message"] == "'=HYPERLINK(evil)"


def test_a_pending_replay_filters_and_shows(cases, operator, flow):
    flow.replay_url, flow.replay_secret = "http://127.0.0.1:9/replay", "s"
    flow.save()
    # Above REPLAY_APPROVAL_THRESHOLD (10,000 by default) a second operator must approve.
    browser(operator).post(f"/exceptions/{cases['big'].pk}/replay", {"reason": "ERP back"})
    (row,) = exported(operator, "awaiting_approval=true")
    assert (row["correlation_id"], row["pending_replay"]) == ("SOW-BIG", "awaiting_approval")


def test_an_invalid_filter_is_refused_with_the_reason(cases, viewer):
    response = browser(viewer).get("/exceptions/?format=csv&min_amount=lots")
    assert response.status_code == 400
    assert "min_amount" in response.content.decode()


def test_only_those_who_see_the_queue_export_it(cases, outsider):
    assert browser(outsider).get("/exceptions/?format=csv").status_code == 403
    assert Client().get("/exceptions/?format=csv").status_code == 302


def test_the_page_links_its_export_with_its_filters(cases, viewer):
    html = browser(viewer).get("/exceptions/?min_amount=1000&page=1").content.decode()
    assert 'href="/exceptions/?min_amount=1000&amp;format=csv"' in html
