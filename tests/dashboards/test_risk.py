"""Revenue at risk: one reason per transaction, in order, with its age; and what is due soon."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboards import calendars
from dashboards.models import RiskSnapshot, RiskSnapshotTaken
from dashboards.queries import latest_risk
from dashboards.refresh import refresh
from dashboards.risk import assess, snapshot
from dashboards.summary import series
from tests.dashboards.helpers import report, step
from tracking.models import ChangedTransaction
from tracking.sweep import sweep

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def by_reason(now) -> dict[str, tuple[int, Decimal]]:
    out: dict[str, list] = {}
    for key, (count, amount) in assess(now).items():
        reason, age = key[5], key[6]
        cell = out.setdefault(reason, [0, Decimal(0), set()])
        cell[0] += count
        cell[1] += amount
        cell[2].add(age)
    return {reason: (c, a, ages) for reason, (c, a, ages) in out.items()}


def test_each_reason_once_with_its_age(ingest_client):
    now = timezone.now()
    report(
        ingest_client,
        # Failed four days ago.
        step("F", "work_approved", now - 5 * DAY, amount="100.00"),
        step("F", "invoice_generated", now - 4 * DAY, "failed", error={"code": "E"}),
        # Invoice generated 2 days ago, never posted: stuck since its 4-hour deadline.
        step("S", "work_approved", now - 3 * DAY, amount="200.00"),
        step("S", "invoice_generated", now - 2 * DAY),
        # Work approved last month and never invoiced: past the month-end cut-off.
        step("L", "work_approved", now - 40 * DAY, amount="400.00"),
        # Approved three days ago: billing latency (2 business days) breached at most once.
        step("O", "work_approved", now - 3 * DAY - timedelta(hours=1), amount="800.00"),
    )
    sweep(now=now)
    refresh(now=now + timedelta(minutes=1))
    figures = by_reason(now)
    assert figures["failed"][:2] == (1, Decimal("100.00"))
    assert figures["failed"][2] == {"3d_7d"}
    assert figures["stuck"][:2] == (3, Decimal("1400.00"))  # S, L and O are late too
    assert "leakage" not in figures and "overdue" not in figures


def overdue_before_the_close(now: datetime) -> datetime:
    """An approval whose 2-business-day latency has passed but whose month has not closed.

    Six days ago, unless that month closed since (in a month's first days the last one has
    not): then the first moment of this month, at least the close's 3 business days back.
    """
    calendar = calendars.for_region(calendars.load(), "")
    approved = now - 6 * DAY
    if calendars.month_close(approved, calendar) <= now:
        local = now.astimezone(calendar.zone)
        approved = datetime(local.year, local.month, 1, tzinfo=calendar.zone).astimezone(UTC)
    assert calendars.add_business_time(approved, 2 * DAY, calendar) < now
    assert calendars.month_close(approved, calendar) > now
    return approved


def test_overdue_and_leakage_come_from_open_sla_breaches(ingest_client):
    now = timezone.now()
    report(
        ingest_client,
        # 40 days back, its month has closed whatever the date: no month plus its close
        # takes that long.
        step("L", "work_approved", now - 40 * DAY, amount="400.00"),
        step("O", "work_approved", overdue_before_the_close(now), amount="800.00"),
    )
    # Not swept: both are still in progress, so open SLA breaches decide their reason.
    refresh(now=now + timedelta(minutes=1))
    figures = by_reason(now)
    assert figures["leakage"][:2] == (1, Decimal("400.00"))
    assert figures["overdue"][:2] == (1, Decimal("800.00"))


def test_due_within_a_day_is_at_risk_soon_not_at_risk(ingest_client):
    now = timezone.now()
    report(ingest_client, step("N", "work_approved", now - 30 * timedelta(hours=1), amount="50"))
    refresh(now=now + timedelta(minutes=1))
    figures = by_reason(now)
    assert figures == {"soon": (1, Decimal("50.00"), {"lt_1d"})}


def test_snapshots_keep_the_latest_and_thin_the_history(ingest_client):
    now = timezone.now().replace(minute=30)
    report(ingest_client, step("F", "work_approved", now - DAY, "failed", amount="10"))
    for minutes in (0, 1, 2):
        snapshot(now=now + timedelta(minutes=minutes))
    assert RiskSnapshot.objects.filter(hourly=True).values("taken_at").distinct().count() == 1
    taken, risk = latest_risk({})
    assert taken == now + timedelta(minutes=2)
    assert risk["failed"] == [1, Decimal("10.00")]
    snapshot(now=now + timedelta(hours=7))
    kept = sorted({t for t in RiskSnapshot.objects.values_list("taken_at", flat=True)})
    assert kept == [now, now + timedelta(hours=7)]
    moments = RiskSnapshotTaken.objects.order_by("taken_at").values_list("taken_at", "hourly")
    assert list(moments) == [(now, True), (now + timedelta(hours=7), True)]


def test_the_risk_series_shows_the_last_snapshot_of_each_interval(ingest_client):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    report(ingest_client, step("F", "work_approved", hour - DAY, "failed", amount="10"))
    snapshot(now=hour + timedelta(minutes=10))
    report(ingest_client, step("G", "work_approved", hour - DAY, "failed", amount="5"))
    snapshot(now=hour + timedelta(minutes=11))
    snapshot(now=hour + timedelta(hours=1, minutes=5))  # the next hour: 15 too
    points = series("revenue_at_risk", "1d", {}, timezone.now(), interval="1h")["series"]
    assert [(p["t"], p["value"]) for p in points[0]["points"]] == [
        (hour.isoformat(), 15.0),
        ((hour + timedelta(hours=1)).isoformat(), 15.0),
    ]


def test_an_empty_ledger_still_takes_a_snapshot(db):
    snapshot()
    taken, risk = latest_risk({})
    assert taken is not None
    assert risk == {"soon": [0, Decimal("0")]}
    assert not ChangedTransaction.objects.exists()


def test_a_past_snapshot_is_summed_once_per_filter(ingest_client):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    report(ingest_client, step("F", "work_approved", hour - DAY, "failed", amount="10"))
    snapshot(now=hour + timedelta(minutes=10))

    def values(**filters) -> list[float]:
        drawn = series("revenue_at_risk", "1d", filters, timezone.now(), interval="1h")
        return [p["value"] for group in drawn["series"] for p in group["points"]]

    assert values() == [10.0]
    # Snapshots never change; were one rewritten, a series drawn before would not see it...
    RiskSnapshot.objects.filter(reason="failed").update(amount=99)
    assert values() == [10.0]
    # ...but one with other filters reads it afresh,
    assert values(journey="billing") == [99.0]
    # and so does any series once the snapshot is another (a recreated database, say).
    RiskSnapshotTaken.objects.update(token=1)
    assert values() == [99.0]
