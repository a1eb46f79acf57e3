"""Facts and rollups from the change feed: figures, incremental recompute, rebuild."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from dashboards import calendars
from dashboards.facts import latency_bin
from dashboards.models import Fact, FxRate, RiskClock, Rollup, SlaPolicy
from dashboards.queries import totals
from dashboards.rebuild import rebuild
from dashboards.refresh import refresh
from tests.dashboards.helpers import MONDAY, TODAY, hours, report, step
from tracking.models import ChangedTransaction

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]
# Ingest enters changes in the feed due at the time of the request: ahead of that.
NOW = TODAY + timedelta(hours=1)
WEEK = (MONDAY - timedelta(days=1), MONDAY + timedelta(days=14))


def figures(**filters) -> dict[str, list]:
    return totals(*WEEK, filters)


def policy_id(slug: str) -> int:
    return SlaPolicy.objects.get(slug=slug).id


@pytest.fixture
def ledger(ingest_client):
    FxRate.objects.create(date=MONDAY.date(), currency="EUR", rate=Decimal("1.10"))
    report(
        ingest_client,
        step("A", "work_approved", MONDAY, amount="1000.00", currency="USD", region="EMEA"),
        step("A", "invoice_generated", MONDAY + hours(1)),
        step("A", "invoice_posted", MONDAY + hours(24)),
        step("B", "work_approved", MONDAY, amount="500.00", currency="EUR", region="NA"),
        step("B", "invoice_generated", MONDAY + hours(2), "failed", error={"code": "E1"}),
    )
    return ingest_client


def test_refresh_counts_what_the_ledger_holds(ledger):
    result = refresh(now=NOW)
    assert (result.transactions, result.changed) == (2, 2)
    # Only B is left in the feed: due again when its month-end cut-off passes, at the end
    # of December's third business day in the calendar's zone.
    zone = calendars.for_region(calendars.load(), "").zone
    due = [e.due_at.astimezone(zone) for e in ChangedTransaction.objects.all()]
    assert [(d.date().isoformat(), d.time()) for d in due] == [("2026-12-04", time(0))]
    got = figures()
    assert got["started"] == [2, Decimal("1550.00")]  # 1000 USD + 500 EUR at 1.10
    assert got["failed"] == [1, Decimal("550.00")]
    assert got["ev_ok"][0] == 4 and got["ev_failed"][0] == 1
    latency = policy_id("billing-latency")
    assert got[f"sla_met:{latency}"][0] == 1
    assert got[f"latency:{latency}:{latency_bin(24 * 3600)}"][0] == 1
    # B never posted its invoice: breached at its deadline, two business days on.
    assert got[f"sla_breached:{latency}"][0] == 1
    assert figures(region="NA")["started"] == [1, Decimal("550.00")]


def test_a_refresh_with_nothing_due_changes_nothing(ledger):
    refresh(now=NOW)
    before = list(Rollup.objects.order_by("id").values_list("id", "count"))
    result = refresh(now=NOW)
    assert result.transactions == 0
    assert list(Rollup.objects.order_by("id").values_list("id", "count")) == before


def test_only_the_buckets_of_new_events_are_recomputed(ledger):
    refresh(now=NOW)
    untouched = set(
        Rollup.objects.filter(
            grain=300, bucket__gt=MONDAY, bucket__lt=MONDAY + hours(20)
        ).values_list("id", flat=True)
    )
    report(ledger, step("A", "payment_received", MONDAY + hours(30)))
    result = refresh(now=NOW)
    assert result.changed == 1
    # The completion and the event share one 5-minute bucket; the funnel's stage fact
    # moves in the bucket where A started.
    assert result.dirty == {MONDAY + hours(30), MONDAY}
    after = set(
        Rollup.objects.filter(
            grain=300, bucket__gt=MONDAY, bucket__lt=MONDAY + hours(20)
        ).values_list("id", flat=True)
    )
    assert after == untouched
    assert figures()["completed"] == [1, Decimal("1000.00")]


def test_a_recovery_moves_the_figures(ledger):
    refresh(now=NOW)
    report(ledger, step("B", "invoice_generated", MONDAY + hours(3)))
    refresh(now=NOW)
    got = figures()
    assert "failed" not in got
    assert got["ev_ok"][0] == 5


def test_a_pending_sla_is_decided_when_its_deadline_passes(ingest_client):
    report(ingest_client, step("P", "work_approved", MONDAY, amount="10.00", currency="USD"))
    ChangedTransaction.objects.update(due_at=MONDAY)  # as if reported on Monday
    latency = policy_id("billing-latency")
    refresh(now=MONDAY + hours(1))
    assert f"sla_breached:{latency}" not in figures()
    due = ChangedTransaction.objects.get()
    assert due.due_at == MONDAY + hours(48)  # Wednesday 09:00
    assert RiskClock.objects.get().deadline == MONDAY + hours(48)
    assert refresh(now=MONDAY + hours(47)).transactions == 0
    refresh(now=MONDAY + hours(49))
    assert figures()[f"sla_breached:{latency}"] == [1, Decimal("10.00")]


def test_rebuild_gives_what_incremental_refreshes_gave(ledger):
    refresh(now=NOW)
    report(ledger, step("A", "payment_received", MONDAY + hours(30)))
    refresh(now=NOW)
    incremental = sorted(
        Rollup.objects.values_list("grain", "bucket", "measure", "region", "count", "amount")
    )
    facts = Fact.objects.count()
    result = rebuild()
    assert result.transactions == 2
    assert Fact.objects.count() == facts
    rebuilt = sorted(
        Rollup.objects.values_list("grain", "bucket", "measure", "region", "count", "amount")
    )
    # The rebuild runs at the real now, so B's pending SLA is decided the same way.
    assert rebuilt == incremental


def test_hours_and_days_add_up_the_five_minute_rows(ledger):
    refresh(now=NOW)
    for measure in ("started", "ev_ok", "ev_failed"):
        per_grain = {
            grain: sum(
                Rollup.objects.filter(grain=grain, measure=measure).values_list("count", flat=True)
            )
            for grain in (300, 3600, 86400)
        }
        assert len(set(per_grain.values())) == 1, (measure, per_grain)


def test_a_currency_without_rates_is_unpriced(ingest_client):
    report(ingest_client, step("J", "work_approved", MONDAY, amount="900", currency="JPY"))
    refresh(now=NOW)
    got = figures()
    assert got["started"] == [1, Decimal("0")]  # no money: the amount shows as zero
    assert got["unpriced"][0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_leaves_the_change_feed_vacuumed(ledger):
    # Without it the every-minute claim wades through a dead feed row per transaction.
    def vacuumed() -> datetime | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_vacuum FROM pg_stat_user_tables "
                "WHERE relname = 'tracking_changedtransaction'"
            )
            return cursor.fetchone()[0]

    before = vacuumed()
    rebuild()
    after = vacuumed()
    assert after is not None and (before is None or after > before)
