"""Metric rules: revenue at risk, failure rate, stuck count and SLA burn rate, checked on
the pre-computed figures every minute. A rule fires once per episode (firing alerts to its
channels) and clears with a resolved message when its condition no longer holds.

Burn rate follows the multi-window alerts of Google's SRE workbook for a 30-day objective:
the rate at which errors spend the budget (1 - objective), measured over a long and a short
window; both must exceed the factor, so a rule fires fast on a real burn and clears soon
after it stops.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboards.queries import latest_risk, totals, window_bounds

from .models import Alert, AlertKind, AlertRule, Channel, RuleKind, RuleState

H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
# severity -> [(long window, short window, factor)]
BURN_WINDOWS = {
    "page": [(1 * H, 5 * M, Decimal("14.4")), (6 * H, 30 * M, Decimal("6"))],
    "ticket": [(1 * D, 2 * H, Decimal("3")), (3 * D, 6 * H, Decimal("1"))],
}
METRIC_RULES = (
    RuleKind.REVENUE_AT_RISK,
    RuleKind.FAILURE_RATE,
    RuleKind.STUCK_COUNT,
    RuleKind.BURN_RATE,
)


@dataclass
class Reading:
    firing: bool
    value: str  # what people read: "52,000.00 USD at risk (threshold 50,000.00)"


def evaluate(now: datetime | None = None) -> dict[str, int]:
    """Check every enabled metric rule; returns how many fired and cleared."""
    now = now or timezone.now()
    counts = {"fired": 0, "cleared": 0}
    rules = AlertRule.objects.filter(enabled=True, kind__in=METRIC_RULES).select_related(
        "flow", "journey", "policy"
    )
    for rule in rules:
        reading = read(rule, now)
        with transaction.atomic():
            state, _ = RuleState.objects.select_for_update().get_or_create(rule=rule)
            if reading.firing and state.firing_since is None:
                state.episode += 1
                state.firing_since = now
                _alerts(rule, state.episode, AlertKind.FIRING, reading, now)
                counts["fired"] += 1
            elif not reading.firing and state.firing_since is not None:
                _alerts(rule, state.episode, AlertKind.RESOLVED, reading, now)
                state.firing_since = None
                counts["cleared"] += 1
            state.value, state.checked_at = reading.value[:300], now
            state.save()
    return counts


def read(rule: AlertRule, now: datetime) -> Reading:
    filters = _filters(rule)
    threshold = rule.threshold if rule.threshold is not None else Decimal(0)
    if rule.kind == RuleKind.BURN_RATE:
        return burn(rule, filters, now)
    if rule.kind in (RuleKind.REVENUE_AT_RISK, RuleKind.STUCK_COUNT):
        _, risk = latest_risk(filters)
        reasons = ("failed", "stuck", "overdue", "leakage")
        if rule.kind == RuleKind.STUCK_COUNT:
            stuck = int(risk.get("stuck", [0])[0] or 0)
            return Reading(stuck > threshold, f"{stuck} stuck (threshold {threshold:.0f})")
        amount = sum((Decimal(risk.get(r, [0, 0])[1] or 0) for r in reasons), Decimal(0))
        currency = settings.REPORTING_CURRENCY
        return Reading(
            amount > threshold,
            f"{amount:,.2f} {currency} at risk (threshold {threshold:,.2f})",
        )
    window = rule.window or H
    start, end = window_bounds(now, window)
    measured = totals(start, end, filters, ["ev_ok", "ev_failed"])
    ok, bad = (int(measured.get(m, [0])[0] or 0) for m in ("ev_ok", "ev_failed"))
    if ok + bad == 0:
        return Reading(False, "no reports in the window")
    rate = Decimal(bad) / Decimal(ok + bad)
    return Reading(
        rate > threshold, f"{rate:.1%} of {ok + bad} reports failed (threshold {threshold:.1%})"
    )


def burn(rule: AlertRule, filters: dict[str, str], now: datetime) -> Reading:
    policy = rule.policy
    if policy is None:
        return Reading(False, "no SLA policy chosen")
    budget = Decimal(1) - Decimal(policy.objective)
    measures = [f"sla_met:{policy.id}", f"sla_breached:{policy.id}"]
    parts = []
    firing = False
    for long, short, factor in BURN_WINDOWS[rule.severity]:
        rates = [burn_rate(policy.id, budget, filters, measures, now, w) for w in (long, short)]
        both = all(r is not None and r >= factor for r in rates)
        firing = firing or both
        shown = " / ".join("-" if r is None else f"{r:.1f}x" for r in rates)
        parts.append(f"{_span(long)}/{_span(short)} {shown} (fires at {factor}x)")
    return Reading(firing, f"{policy.slug} burn rate: " + "; ".join(parts))


def burn_rate(policy_id: int, budget: Decimal, filters, measures, now, window) -> Decimal | None:
    """Share of SLA outcomes that breached over ``window``, as a multiple of the budget."""
    start, end = window_bounds(now, window)
    found = totals(start, end, filters, measures)
    met = int(found.get(f"sla_met:{policy_id}", [0])[0] or 0)
    breached = int(found.get(f"sla_breached:{policy_id}", [0])[0] or 0)
    if met + breached == 0 or budget <= 0:
        return None
    return (Decimal(breached) / Decimal(met + breached)) / budget


def _filters(rule: AlertRule) -> dict[str, str]:
    found = {
        "journey": rule.journey.slug if rule.journey_id else "",
        "flow": rule.flow.slug if rule.flow_id else "",
        "region": rule.region,
        "business_unit": rule.business_unit,
    }
    return {key: value for key, value in found.items() if value}


def team_of(rule: AlertRule) -> str:
    if rule.notify_team:
        return rule.notify_team
    if rule.flow_id and rule.flow.owner_team:
        return rule.flow.owner_team
    return settings.EXCEPTIONS_DEFAULT_TEAM


def _alerts(rule: AlertRule, episode: int, kind: str, reading: Reading, now: datetime) -> None:
    if kind == AlertKind.RESOLVED:
        # Only where the firing was heard: a silenced or failed firing gets no "resolved".
        told = Alert.objects.filter(
            rule=rule,
            kind=AlertKind.FIRING,
            outcome="sent",
            dedup_key__startswith=f"rule:{rule.pk}:episode:{episode}:",
        ).values_list("channel_id", flat=True)
        channels = list(Channel.objects.filter(pk__in=list(told), enabled=True))
    else:
        named = [c for c in rule.channels.all() if c.enabled]
        channels = named or list(Channel.objects.filter(team=team_of(rule), enabled=True))
    verb = "Resolved: " if kind == AlertKind.RESOLVED else ""
    link = f"{settings.C2C_BASE_URL}/"
    Alert.objects.bulk_create(
        [
            Alert(
                dedup_key=f"rule:{rule.pk}:episode:{episode}:channel:{channel.pk}:{kind}",
                kind=kind,
                rule=rule,
                channel=channel,
                subject=f"{verb}{rule.name}: {reading.value}"[:300],
                facts={"detail": reading.value, "rule": rule.name, "episode": episode,
                       "link": link},
                created_at=now,
            )
            for channel in channels
        ],
        ignore_conflicts=True,
    )  # fmt: skip


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"
