"""Sending the alert outbox: claim a row, send it once, log the attempt, retry or give up.

A worker claims an alert with one conditional UPDATE (unsent, and no live claim), so two
workers, or the same task run twice, never both send it. The claim is a lease: if the
worker dies mid-send, the alert is claimed again once the lease lapses and goes out then.
Webhook and Slack receivers also get the alert's dedup key, to drop a copy if one ever
arrives twice.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import alerts
from .models import Alert, Channel, Notification
from .transports import TransportError, transport_for
from .transports.base import Message

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    done: bool
    detail: str


def due(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        Alert.objects.filter(processed_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliver(alert_id: int, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    claimed = (
        Alert.objects.filter(pk=alert_id, processed_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + _lease(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return Outcome(True, "not due, already sent, or another worker has it")
    alert = Alert.objects.select_related(
        "channel", "case__flow", "case__stage", "case__owner", "rule__flow"
    ).get(pk=alert_id)
    channel = alert.channel
    if not channel.enabled:
        return _finish(alert, now, "skipped", f"the channel is disabled: {channel.disabled_reason}")
    why = alerts.silenced(alert, now)
    if why:
        return _finish(alert, now, "silenced", why)
    message = Message(
        kind=alert.kind,
        subject=alert.subject,
        facts={**alert.facts, "dedup_key": alert.dedup_key},
        link=alert.facts.get("link", ""),
    )
    try:
        transport_for(channel).send(message)
    except TransportError as exc:
        return _failed(alert, channel, now, str(exc), exc.permanent)
    except Exception as exc:  # a bug or a bad config must not wedge the outbox
        log.exception("alerts: unexpected error sending alert %s", alert.pk)
        return _failed(alert, channel, now, f"{type(exc).__name__}: {exc}"[:500], False)
    Notification.objects.create(alert=alert, channel=channel, at=timezone.now(), ok=True)
    return _finish(alert, now, "sent", "sent")


def _lease() -> timedelta:
    # Longer than any transport's timeout, so a live sender is never overtaken.
    return timedelta(seconds=settings.ALERT_LEASE_SECONDS)


def _finish(alert: Alert, now: datetime, outcome: str, detail: str) -> Outcome:
    Alert.objects.filter(pk=alert.pk).update(processed_at=now, outcome=outcome, claimed_until=None)
    if outcome != "sent":
        Notification.objects.create(
            alert=alert, channel=alert.channel, at=now, ok=False, detail=f"{outcome}: {detail}"
        )
    return Outcome(True, detail)


def _failed(alert: Alert, channel: Channel, now: datetime, error: str, permanent: bool) -> Outcome:
    with transaction.atomic():
        Notification.objects.create(
            alert=alert,
            channel=channel,
            at=timezone.now(),
            ok=False,
            permanent=permanent,
            detail=error,
        )
        if permanent:
            # Nothing sent to it can arrive: stop, and say why where people will look.
            Channel.objects.filter(pk=channel.pk).update(
                enabled=False, disabled_reason=f"{now:%Y-%m-%d %H:%M} UTC: {error}"[:1000]
            )
            log.warning("alerts: channel %s disabled: %s", channel.pk, error)
            Alert.objects.filter(pk=alert.pk).update(
                processed_at=now, outcome="failed", claimed_until=None
            )
            return Outcome(True, error)
        attempts = Alert.objects.values_list("attempts", flat=True).get(pk=alert.pk)
        if attempts >= settings.ALERT_MAX_ATTEMPTS:
            Alert.objects.filter(pk=alert.pk).update(
                processed_at=now, outcome="failed", claimed_until=None
            )
            return Outcome(True, f"gave up after {attempts} attempts: {error}")
        delay = settings.ALERT_RETRY_SECONDS * 2 ** (attempts - 1)
        delay = min(delay, 3600) * random.uniform(0.9, 1.1)
        Alert.objects.filter(pk=alert.pk).update(
            next_attempt_at=now + timedelta(seconds=delay), claimed_until=None
        )
    return Outcome(False, error)
