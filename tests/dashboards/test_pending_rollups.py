"""A refresh's differences show at once from the pending rollups; a fold moves them into the
rollups without changing a figure, and readers never see a difference twice or not at all."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dashboards.models import PendingRollup, Rollup, SlaPolicy
from dashboards.queries import totals
from dashboards.rebuild import rebuild
from dashboards.refresh import refresh
from dashboards.rollups import fold_pending
from dashboards.summary import series
from dashboards.views.flows import per_flow
from tests.dashboards.helpers import MONDAY, TODAY, hours, report, step

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]
# Ingest enters changes in the feed due at the time of the request: ahead of that.
NOW = TODAY + timedelta(hours=1)
WEEK = (MONDAY - timedelta(days=1), MONDAY + timedelta(days=14))
LATER = MONDAY + timedelta(days=5)  # "now" for the windows of series and flows


def everything() -> dict:
    """Every reader of the rollups, as a user would see their figures."""
    return {
        "totals": totals(*WEEK, {}),
        "emea": totals(*WEEK, {"region": "EMEA"}),
        "series": {
            (metric, interval): series(metric, "7d", {}, LATER, interval=interval)["series"]
            for metric in ("started", "failed", "failure_rate", "latency_p95")
            for interval in ("5m", "1h", "1d")
        },
        "by_flow": series("started", "7d", {}, LATER, interval="1h", group_by="flow")["series"],
        "flows": {
            flow: (dict(entry["measures"]), entry["bins"])
            for flow, entry in per_flow("7d", {}, LATER).items()
        },
    }


@pytest.fixture
def refreshed(ingest_client):
    report(
        ingest_client,
        step("A", "work_approved", MONDAY, amount="1000.00", currency="USD", region="EMEA"),
        step("A", "invoice_generated", MONDAY + hours(1.1)),
        step("B", "work_approved", MONDAY, amount="500.00", currency="USD", region="NA"),
        step("B", "invoice_generated", MONDAY + hours(2.3), "failed", error={"code": "E1"}),
    )
    refresh(now=NOW)
    assert not PendingRollup.objects.exists()
    return ingest_client


def test_a_refresh_shows_its_figures_before_they_are_folded(refreshed):
    # B's retry succeeds and A's invoice posts: B is no longer failed, A's latency is known.
    report(
        refreshed,
        step("B", "invoice_generated", MONDAY + hours(3.2)),
        step("A", "invoice_posted", MONDAY + hours(26.4)),
    )
    rows_before = Rollup.objects.count()
    result = refresh(now=NOW, fold=False)
    assert result.transactions == 2 and result.folded == 0
    assert PendingRollup.objects.filter(measure="failed", count=-1).exists()
    assert Rollup.objects.count() == rows_before  # nothing added to the rollups yet

    shown = everything()
    assert "failed" not in shown["totals"]  # the pending -1 takes it to nothing
    assert shown["totals"]["ev_ok"][0] == 5
    latency = SlaPolicy.objects.get(slug="billing-latency").id
    assert shown["totals"][f"sla_met:{latency}"] == [1, Decimal("1000.00")]
    assert shown["emea"][f"sla_met:{latency}"][0] == 1
    assert shown["series"][("latency_p95", "1d")][0]["points"]  # A's invoice, 26 h on
    failed = shown["series"][("failed", "1h")]
    assert failed == []  # no point left where the failure was

    folded = fold_pending()
    assert folded.folded > 0 and not PendingRollup.objects.exists()
    assert not Rollup.objects.filter(measure="failed").exists()
    assert everything() == shown


def test_a_fold_with_nothing_pending_does_nothing(refreshed):
    before = list(Rollup.objects.order_by("id").values_list("id", "count"))
    assert fold_pending().folded == 0
    assert list(Rollup.objects.order_by("id").values_list("id", "count")) == before


def test_a_fold_in_batches_adds_each_difference_once(refreshed):
    report(refreshed, step("B", "invoice_generated", MONDAY + hours(3.2)))
    refresh(now=NOW, fold=False)
    shown = everything()
    pending = PendingRollup.objects.count()
    assert pending > 2
    assert fold_pending(batch=2).chunks == -(-pending // 2)
    assert everything() == shown


def test_a_rebuild_leaves_nothing_pending(refreshed):
    report(refreshed, step("B", "invoice_generated", MONDAY + hours(3.2)))
    refresh(now=NOW, fold=False)
    shown = everything()
    rebuild()
    assert not PendingRollup.objects.exists()
    assert everything() == shown


def test_compute_metrics_folds_what_it_refreshed(refreshed, capsys):
    report(refreshed, step("B", "invoice_generated", MONDAY + hours(3.2)))
    call_command("compute_metrics")
    assert "pending differences added to the rollups" in capsys.readouterr().out
    assert not PendingRollup.objects.exists()


READERS = {
    "totals": lambda: totals(*WEEK, {}),
    "hourly series": lambda: series("failed", "7d", {}, LATER, interval="1h")["series"],
    "daily series": lambda: series("failed", "7d", {}, LATER, interval="1d")["series"],
    "flows": lambda: {f: dict(e["measures"]) for f, e in per_flow("7d", {}, LATER).items()},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reader", READERS)
def test_a_fold_between_two_reads_is_not_seen(refreshed, reader):
    """Readers read the rollups, then the pending rows: a fold committed in between would
    leave its differences out of both, without one snapshot."""
    report(refreshed, step("B", "invoice_generated", MONDAY + hours(3.2)))
    refresh(now=NOW, fold=False)
    read = READERS[reader]
    expected = read()
    folds = []

    def other_worker():
        try:
            folds.append(fold_pending().folded)
        finally:
            connection.close()

    def fold_before_reading_pending(execute, sql, params, many, context):
        if "dashboards_pendingrollup" in sql and not folds:
            worker = threading.Thread(target=other_worker)
            worker.start()
            worker.join()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fold_before_reading_pending):
        got = read()
    assert folds and folds[0] > 0  # the fold did commit between the reads
    assert got == expected
    assert read() == expected


def test_an_early_event_in_the_last_interval_counts_before_and_after_the_fold(
    ingest_client, time_machine
):
    """An hourly series' last point is the rollup row of the whole hour: the pending rows
    of that hour count in it, those after the window's end included."""
    # Five past the hour, so that twenty minutes on is still the window's last hour.
    now = timezone.now().replace(minute=5, second=0, microsecond=0)
    time_machine.move_to(now)
    soon = now + timedelta(minutes=20)  # ingest takes events up to an hour early
    report(ingest_client, step("EARLY", "work_approved", soon, amount="10.00", currency="USD"))
    refresh(now=soon + timedelta(minutes=1), fold=False)
    hourly = series("started", "1d", {}, now, interval="1h")["series"]
    fold_pending()
    assert series("started", "1d", {}, now, interval="1h")["series"] == hourly
    points = hourly[0]["points"] if hourly else []
    assert [p["value"] for p in points] == [1]
