"""Metric rules on synthetic streams of SLA outcomes and reports: burn-rate rules fire and
clear when the SRE workbook's windows say so; threshold rules fire once per episode.

The streams are written as the rollups the metrics engine would make of them (5-minute
buckets, added to every grain by the engine's own writer), so each test controls exactly
when every outcome falls; the rollup engine itself is tested against raw events in tests/dashboards.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboards.models import SlaPolicy
from dashboards.rollups import add_to_rollups
from exceptions import watch
from exceptions.models import Alert, AlertRule, Channel, RuleState

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def rollups(counts: dict[tuple[datetime, str], int]) -> None:
    """5-minute counts, added to the rollups of every grain by the rollup engine's writer."""
    add_to_rollups(
        {
            (moment, measure, "billing", "", "", "", ""): [n, Decimal(0)]
            for (moment, measure), n in counts.items()
        }
    )


def outcomes(policy: SlaPolicy, *segments: tuple[datetime, datetime, int, float]) -> None:
    """Each segment (start, end, outcomes per 5 minutes, share breached), as rollups."""
    counts: dict[tuple[datetime, str], int] = defaultdict(int)
    for start, end, per_bucket, bad_share in segments:
        moment, carry = start, 0.0
        while moment < end:
            carry += per_bucket * bad_share
            bad = int(carry)
            carry -= bad
            counts[(moment, f"sla_breached:{policy.id}")] += bad
            counts[(moment, f"sla_met:{policy.id}")] += per_bucket - bad
            moment += STEP
    rollups(counts)


@pytest.fixture
def policy(db) -> SlaPolicy:
    return SlaPolicy.objects.get(slug="billing-latency")  # objective 99%: budget 1%


@pytest.fixture
def slack(db) -> Channel:
    return Channel.objects.create(
        kind="slack", team="finance-ops", config={"url": "http://127.0.0.1:9/x"}
    )


def rule(policy, severity: str, **extra) -> AlertRule:
    return AlertRule.objects.create(
        name=f"burn {severity}", kind="burn_rate", policy=policy, severity=severity,
        notify_team="finance-ops", **extra,
    )  # fmt: skip


def told(made: AlertRule) -> None:
    """As if the sender delivered the firing alerts (resolved ones follow only those)."""
    Alert.objects.filter(rule=made, kind="firing").update(outcome="sent", processed_at=NOW)


def firing(made: AlertRule) -> bool:
    return RuleState.objects.get(rule=made).firing_since is not None


def test_a_fast_burn_pages_within_minutes_and_clears_after(policy, slack):
    page, ticket = rule(policy, "page"), rule(policy, "ticket")
    # Four quiet days at 0.1% errors; then half of all outcomes breach for 25 minutes:
    # about 17% over the hour (17x the budget) and 50% over the last minutes (50x).
    outcomes(
        policy,
        (NOW - timedelta(days=4), NOW - timedelta(minutes=20), 10, 0.001),
        (NOW - timedelta(minutes=20), NOW + STEP, 10, 0.5),
        (NOW + STEP, NOW + timedelta(hours=1, minutes=5), 10, 0.0),
    )
    watch.evaluate(NOW - timedelta(minutes=30))
    assert not firing(page)  # before the burn
    watch.evaluate(NOW)
    assert firing(page)
    subjects = list(Alert.objects.filter(rule=page).values_list("subject", flat=True))
    assert len(subjects) == 1 and "billing-latency burn rate" in subjects[0]
    told(page)
    # The burn stopped: an hour on, the short window is clean and the page clears.
    watch.evaluate(NOW + timedelta(hours=1))
    assert not firing(page)
    kinds = list(Alert.objects.filter(rule=page).order_by("id").values_list("kind", flat=True))
    assert kinds == ["firing", "resolved"]
    assert not firing(ticket)


def test_a_slow_burn_opens_a_ticket_but_does_not_page(policy, slack):
    page, ticket = rule(policy, "page"), rule(policy, "ticket")
    # Three days at 2% errors: twice the budget, steadily.
    outcomes(policy, (NOW - timedelta(days=3), NOW + STEP, 20, 0.02))
    watch.evaluate(NOW)
    assert firing(ticket) and not firing(page)


def test_a_burn_below_every_threshold_never_fires(policy, slack):
    page, ticket = rule(policy, "page"), rule(policy, "ticket")
    outcomes(policy, (NOW - timedelta(days=4), NOW + STEP, 20, 0.005))  # half the budget
    for hours in range(0, 24, 6):
        watch.evaluate(NOW - timedelta(hours=hours))
    assert not firing(page) and not firing(ticket)
    assert not Alert.objects.exists()


def test_a_threshold_rule_fires_once_per_episode(policy, slack):
    made = AlertRule.objects.create(
        name="failures", kind="failure_rate", threshold=Decimal("0.10"), notify_team="finance-ops"
    )
    rollups({(NOW - STEP, "ev_ok"): 80, (NOW - STEP, "ev_failed"): 20})
    watch.evaluate(NOW)
    watch.evaluate(NOW + timedelta(minutes=1))  # still above: no second alert
    assert firing(made)
    assert Alert.objects.filter(rule=made).count() == 1
    assert "20.0% of 100 reports failed" in Alert.objects.get(rule=made).subject
    told(made)
    watch.evaluate(NOW + timedelta(hours=3))  # the window has moved past the failures
    assert not firing(made)
    assert list(Alert.objects.filter(rule=made).order_by("id").values_list("kind", flat=True)) == [
        "firing",
        "resolved",
    ]


def test_a_firing_metric_rule_reminds_until_it_clears(policy, slack):
    made = AlertRule.objects.create(
        name="stuck pile", kind="stuck_count", threshold=0, notify_team="finance-ops",
        remind_every=timedelta(hours=1),
    )  # fmt: skip
    from dashboards.models import RiskSnapshot
    from exceptions import alerts

    RiskSnapshot.objects.create(
        taken_at=NOW, journey="billing", reason="stuck", age="lt_1d", count=3, amount=0
    )
    watch.evaluate(NOW)
    Alert.objects.filter(rule=made).update(outcome="sent", processed_at=NOW)
    alerts.reminders(NOW + timedelta(minutes=30))
    assert Alert.objects.filter(rule=made, kind="reminder").count() == 0  # not yet
    alerts.reminders(NOW + timedelta(hours=1, minutes=1))
    alerts.reminders(NOW + timedelta(hours=1, minutes=2))
    (reminder,) = Alert.objects.filter(rule=made, kind="reminder")
    assert reminder.subject.startswith("Still firing: stuck pile: 3 stuck")
    RiskSnapshot.objects.create(
        taken_at=NOW + timedelta(hours=2), journey="billing", reason="stuck", age="lt_1d",
        count=0, amount=0,
    )  # fmt: skip
    watch.evaluate(NOW + timedelta(hours=2))
    alerts.reminders(NOW + timedelta(hours=3))
    assert Alert.objects.filter(rule=made, kind="reminder").count() == 1  # cleared: no more
    assert Alert.objects.filter(rule=made, kind="resolved").count() == 1


def test_a_rule_silenced_throughout_sends_no_resolved_message(policy, slack):
    from dashboards.models import RiskSnapshot
    from exceptions import delivery
    from exceptions.models import MaintenanceWindow
    from tracking.models import Flow

    flow = Flow.objects.create(slug="quiet-flow", name="quiet", owner_team="finance-ops")
    made = AlertRule.objects.create(name="stuck", kind="stuck_count", threshold=0, flow=flow)
    MaintenanceWindow.objects.create(
        flow=flow, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=3)
    )
    RiskSnapshot.objects.create(
        taken_at=NOW, journey="billing", flow="quiet-flow", reason="stuck", age="lt_1d",
        count=2, amount=0,
    )  # fmt: skip
    watch.evaluate(NOW)
    for alert_id in delivery.due(NOW):
        delivery.deliver(alert_id, NOW)
    assert Alert.objects.get(rule=made).outcome == "silenced"
    RiskSnapshot.objects.create(
        taken_at=NOW + timedelta(hours=1), journey="billing", flow="quiet-flow", reason="stuck",
        age="lt_1d", count=0, amount=0,
    )  # fmt: skip
    watch.evaluate(NOW + timedelta(hours=1))
    assert not firing(made)
    assert not Alert.objects.filter(rule=made, kind="resolved").exists()


def test_a_reminder_interval_must_be_positive(db):
    from django.core.exceptions import ValidationError

    made = AlertRule(name="bad", kind="new_exception", remind_every=timedelta(0))
    with pytest.raises(ValidationError, match="remind_every"):
        made.full_clean()
