"""GET /api/v1/metrics/summary and /series: the fields of DESIGN.md, roles and scopes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from dashboards.models import FxRate
from tests.conftest import key_client, make_key, session_client
from tests.dashboards.helpers import report, step

pytestmark = pytest.mark.django_db
SUMMARY = "/api/v1/metrics/summary"
SERIES = "/api/v1/metrics/series"


@pytest.fixture
def recent(ingest_client):
    """Two transactions from the last hours: one on its way, one failed; metrics computed."""
    now = timezone.now()
    FxRate.objects.create(date=now.date(), currency="EUR", rate=Decimal("1.10"))
    report(
        ingest_client,
        step("R-1", "work_approved", now - timedelta(hours=3), amount="100.00", region="EMEA"),
        step("R-1", "invoice_generated", now - timedelta(hours=2)),
        step(
            "R-2",
            "work_approved",
            now - timedelta(hours=3),
            amount="200.00",
            currency="EUR",
            region="NA",
        ),
        step("R-2", "invoice_generated", now - timedelta(hours=1), "failed", error={"code": "E"}),
    )
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_the_summary_has_the_fields_of_the_contract(recent, viewer):
    body = session_client(viewer).get(SUMMARY, {"window": "30d"}).json()
    assert body["currency"] == "USD"
    assert body["revenue_at_risk"]["amount"] == "220.00"
    assert body["revenue_at_risk"]["by_reason"] == {
        "failed": "220.00",
        "stuck": "0.00",
        "overdue": "0.00",
        "leakage": "0.00",
    }
    assert set(body["at_risk_soon"]) == {"amount"}
    policies = {row["policy"]: row for row in body["sla"]}
    assert {"billing-latency", "month-end-cutoff"} <= set(policies)
    assert set(policies["billing-latency"]) >= {"met", "breached", "adherence", "objective"}
    assert policies["billing-latency"]["objective"] == 0.99
    assert set(body["billing_latency"]) >= {"p50_seconds", "p95_seconds"}
    assert body["failure_rate"] == pytest.approx(1 / 4)
    assert body["stuck_count"] == 0
    assert body["transactions"] == 2


def test_filters_narrow_every_figure(recent, viewer):
    body = session_client(viewer).get(SUMMARY, {"region": "EMEA"}).json()
    assert body["transactions"] == 1
    assert body["revenue_at_risk"]["amount"] == "0.00"
    assert body["failure_rate"] == 0.0


def test_the_at_risk_soon_figure_counts_deadlines_within_a_day(recent, viewer):
    # R-1 generated its invoice 2 hours ago: posting is due within 4 hours.
    body = session_client(viewer).get(SUMMARY).json()
    assert body["at_risk_soon"]["amount"] == "100.00"


@pytest.mark.parametrize("window", ["30", "0d", "401d", "3y", "-1d"])
def test_a_bad_window_is_a_400_that_says_why(viewer, window):
    response = session_client(viewer).get(SUMMARY, {"window": window})
    assert response.status_code == 400
    assert "window" in response.json()["detail"]


def test_who_may_read_the_metrics(flow, viewer, operator, admin_user, outsider):
    for user in (viewer, operator, admin_user):
        assert session_client(user).get(SUMMARY).status_code == 200
    assert session_client(outsider).get(SUMMARY).status_code == 403
    assert APIClient().get(SUMMARY).status_code in (401, 403)
    assert key_client(make_key(flow, "read")).get(SUMMARY).status_code == 200
    assert (
        key_client(make_key(flow, "ingest")).get(SERIES, {"metric": "started"}).status_code == 403
    )


def test_series_groups_a_metric_by_region(recent, viewer):
    body = session_client(viewer).get(
        SERIES, {"metric": "started", "window": "1d", "group_by": "region"}
    )
    assert body.status_code == 200, body.content
    data = body.json()
    assert data["interval"] == "5m"
    totals = {s["group"]: sum(p["value"] for p in s["points"]) for s in data["series"]}
    assert totals == {"EMEA": 1, "NA": 1}


def test_series_of_revenue_at_risk_by_reason(recent, viewer):
    data = (
        session_client(viewer)
        .get(SERIES, {"metric": "revenue_at_risk", "window": "1d", "group_by": "reason"})
        .json()
    )
    last = {s["group"]: s["points"][-1]["value"] for s in data["series"]}
    assert last == {"failed": 220.0}


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"metric": "nope"}, "metric"),
        ({"metric": "started", "interval": "2m"}, "interval"),
        ({"metric": "started", "group_by": "colour"}, "group_by"),
        ({"metric": "started", "group_by": "reason"}, "reason"),
        ({"metric": "started", "interval": "5m", "window": "400d"}, "points"),
        ({"metric": "sla_adherence", "policy": "none-such"}, "policy"),
    ],
)
def test_series_refuses_bad_parameters(viewer, params, word):
    response = session_client(viewer).get(SERIES, params)
    assert response.status_code == 400
    assert word in response.json()["detail"]
