"""Which alerts a change causes, written to the outbox in the change's own transaction.

Each alert row names one channel and carries a ``dedup_key``: the same case, rule and
channel make the same key, so a change processed twice (a retried task, two workers)
writes one alert. ``delivery`` sends them.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Alert, AlertKind, AlertRule, Channel, ExceptionCase, RuleKind


def case_facts(case: ExceptionCase, now: datetime) -> dict:
    """What a message about a case says: enough to act on without opening anything."""
    age = now - case.opened_at
    hours = int(age.total_seconds() // 3600)
    amount = case.amount
    return {
        "case_id": case.pk,
        "correlation_id": case.correlation_id,
        "stage": case.stage.slug if case.stage_id else "",
        "flow": case.flow.slug if case.flow_id else "",
        "error": ": ".join(x for x in (case.error_code, case.error_message[:200]) if x)
        or case.get_kind_display(),
        "amount": None if amount is None else str(amount),
        "amount_text": "unpriced"
        if amount is None
        else f"{amount:,.2f} {settings.REPORTING_CURRENCY}",
        "age": f"{hours // 24}d {hours % 24}h" if hours >= 24 else f"{hours}h",
        "owner": case.owner.get_username() if case.owner_id else f"team {case.team or 'none'}",
        "team": case.team,
        "status": case.status,
    }


def case_link(case_id: int) -> str:
    return f"{settings.C2C_BASE_URL}/exceptions/{case_id}/"


def matches(rule: AlertRule, case: ExceptionCase) -> bool:
    checks = (
        (rule.journey_id, case.journey_id),
        (rule.flow_id, case.flow_id),
        (rule.region, case.region),
        (rule.business_unit, case.business_unit),
        (rule.team, case.team),
        (rule.case_kind, case.kind),
    )
    if any(wanted and wanted != value for wanted, value in checks):
        return False
    return rule.min_amount is None or (case.amount is not None and case.amount >= rule.min_amount)


def channels_for(rule: AlertRule, team: str) -> list[Channel]:
    """The rule's own channels if it names any, else every enabled channel of the team."""
    named = list(rule.channels.all())
    if named:
        return [c for c in named if c.enabled]
    return list(Channel.objects.filter(team=team, enabled=True)) if team else []


def on_opened(cases: Iterable[ExceptionCase], now: datetime | None = None) -> int:
    """Firing alerts for new cases, per matching rule and channel."""
    now = now or timezone.now()
    rules = list(
        AlertRule.objects.filter(enabled=True, kind=RuleKind.NEW_EXCEPTION).prefetch_related(
            "channels"
        )
    )
    alerts = []
    for case in cases:
        for rule in rules:
            if not matches(rule, case):
                continue
            for channel in channels_for(rule, case.team):
                alerts.append(_case_alert(case, rule, channel, AlertKind.FIRING, now, "firing"))
    return _write(alerts)


def on_resolved(cases: Iterable[ExceptionCase], now: datetime | None = None) -> int:
    """A resolved message to every channel that was told the case fired."""
    now = now or timezone.now()
    by_id = {case.pk: case for case in cases}
    if not by_id:
        return 0
    told = Alert.objects.filter(
        case_id__in=by_id, kind=AlertKind.FIRING, outcome="sent"
    ).select_related("rule", "channel")
    alerts = []
    for fired in told:
        case = by_id[fired.case_id]
        # The resolution's own time keys it: a case reopened and resolved again says so again.
        tag = f"resolved:{int(case.resolved_at.timestamp()) if case.resolved_at else 0}"
        alerts.append(_case_alert(case, fired.rule, fired.channel, AlertKind.RESOLVED, now, tag))
    return _write(alerts)


def reminders(now: datetime | None = None) -> int:
    """Reminders for cases still open, at each rule's interval, while not snoozed."""
    now = now or timezone.now()
    # Firing alerts silenced by a maintenance window count too: once the window ends, the
    # team hears of what is still open.
    fired = (
        Alert.objects.filter(
            kind=AlertKind.FIRING,
            outcome__in=("sent", "silenced"),
            rule__remind_every__isnull=False,
            rule__enabled=True,
            case__status__in=("open", "acknowledged"),
        )
        .select_related("rule", "channel", "case__stage", "case__flow", "case__owner")
        .order_by("id")
    )
    alerts = []
    for first in fired.iterator(chunk_size=500):
        interval: timedelta = first.rule.remind_every
        if interval <= timedelta(0):
            continue
        due = int((now - first.created_at) / interval)
        if due < 1 or not first.channel.enabled:
            continue
        tag = f"reminder:{due}"
        alerts.append(
            _case_alert(first.case, first.rule, first.channel, AlertKind.REMINDER, now, tag)
        )
    # Metric rules: remind while the episode that fired is still firing.
    still = Alert.objects.filter(
        kind=AlertKind.FIRING,
        outcome__in=("sent", "silenced"),
        case__isnull=True,
        rule__remind_every__isnull=False,
        rule__enabled=True,
        rule__state__firing_since__isnull=False,
    ).select_related("rule__state", "channel")
    for first in still.iterator(chunk_size=500):
        if first.facts.get("episode") != first.rule.state.episode or not first.channel.enabled:
            continue
        if first.rule.remind_every <= timedelta(0):
            continue
        due = int((now - first.created_at) / first.rule.remind_every)
        if due < 1:
            continue
        alerts.append(
            Alert(
                dedup_key=f"{first.dedup_key}:reminder:{due}",
                kind=AlertKind.REMINDER,
                rule=first.rule,
                channel=first.channel,
                subject=f"Still firing: {first.rule.name}: {first.rule.state.value}"[:300],
                facts={**first.facts, "detail": first.rule.state.value},
                created_at=now,
            )
        )
    return _write(alerts)


def test_alert(channel: Channel, actor_name: str, now: datetime | None = None) -> Alert:
    now = now or timezone.now()
    alert = Alert(
        dedup_key=f"test:{channel.pk}:{now.timestamp()}",
        kind=AlertKind.TEST,
        channel=channel,
        subject=f"Test message for {channel.team}, sent by {actor_name}",
        facts={"detail": "If you can read this, c2c-ops can reach this channel."},
        created_at=now,
    )
    alert.save()
    return alert


def _case_alert(
    case: ExceptionCase, rule: AlertRule | None, channel: Channel, kind: str, now, tag: str
) -> Alert:
    facts = case_facts(case, now)
    verb = {"firing": "", "reminder": "Still open: ", "resolved": "Resolved: "}[kind]
    subject = (
        f"{verb}{facts['correlation_id']} {case.get_kind_display().lower()} at "
        f"{facts['stage']} ({facts['amount_text']})"
    )
    return Alert(
        dedup_key=f"case:{case.pk}:rule:{rule.pk if rule else 0}:channel:{channel.pk}:{tag}",
        kind=kind,
        rule=rule,
        channel=channel,
        case=case,
        subject=subject[:300],
        facts={**facts, "link": case_link(case.pk)},
        created_at=now,
    )


def _write(alerts: list[Alert]) -> int:
    if not alerts:
        return 0
    made = Alert.objects.bulk_create(alerts, ignore_conflicts=True)
    return len(made)


def silenced(alert: Alert, now: datetime) -> str:
    """Why this alert must not go out now, or "" when it may."""
    case = alert.case
    if alert.kind in (AlertKind.TEST, AlertKind.RESOLVED):
        return ""
    if case is None:
        flow = alert.rule.flow if alert.rule_id and alert.rule.flow_id else None
        return "the flow is in a maintenance window" if flow and _in_maintenance(flow, now) else ""
    if case.status in ("resolved", "ignored"):
        return f"the case was {case.status} before this went out"
    if case.status == "snoozed" and case.snoozed_until and case.snoozed_until > now:
        return "the case is snoozed"
    if case.flow_id and _in_maintenance(case.flow, now):
        return "the flow is in a maintenance window"
    return ""


def _in_maintenance(flow, now: datetime) -> bool:
    return flow.maintenance.filter(Q(starts_at__lte=now) & Q(ends_at__gt=now)).exists()
