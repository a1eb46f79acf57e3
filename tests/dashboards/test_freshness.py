"""The summary and the overview are served from cache until their figures change, never after."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.models import SlaPolicy
from tests.conftest import session_client
from tests.dashboards.helpers import report, step

pytestmark = pytest.mark.django_db
SUMMARY = "/api/v1/metrics/summary"
ROLLUPS = ("dashboards_rollup", "dashboards_coarserollup")


def compute() -> None:
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115


def rollup_reads(client) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as captured:
        body = client.get(SUMMARY, {"window": "7d"}).json()
    return body, sum(any(table in q["sql"] for table in ROLLUPS) for q in captured.captured_queries)


@pytest.fixture
def client(ingest_client, viewer):
    report(ingest_client, step("F-1", "work_approved", timezone.now() - timedelta(hours=2)))
    compute()
    return session_client(viewer)


def test_a_repeated_summary_does_not_read_the_rollups_again(client):
    first, reads = rollup_reads(client)
    assert reads > 0
    again, reads = rollup_reads(client)
    assert (again, reads) == (first, 0)


def test_new_figures_show_at_once_after_a_refresh(client, ingest_client):
    before, _ = rollup_reads(client)
    report(ingest_client, step("F-2", "work_approved", timezone.now() - timedelta(hours=1)))
    compute()
    after, reads = rollup_reads(client)
    assert reads > 0
    assert (before["transactions"], after["transactions"]) == (1, 2)


def test_a_policy_edit_shows_at_once(client):
    rollup_reads(client)
    SlaPolicy.objects.filter(slug="billing-latency").update(name="Approved to posted")
    policy = SlaPolicy.objects.get(slug="billing-latency")
    policy.save()  # admin edits go through save(): the signal moves the version
    body, _ = rollup_reads(client)
    names = {row["policy"]: row["name"] for row in body["sla"]}
    assert names["billing-latency"] == "Approved to posted"


def test_the_cache_can_be_turned_off(client, settings):
    settings.METRICS_CACHE_SECONDS = 0
    rollup_reads(client)
    _, reads = rollup_reads(client)
    assert reads > 0


def test_a_repeated_overview_reads_no_figures_again(client):
    assert client.get("/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    figures = (*ROLLUPS, "dashboards_risksnapshot")
    assert [q["sql"] for q in captured if any(name in q["sql"] for name in figures)] == []
