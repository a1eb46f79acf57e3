"""Celery tasks of the exception queue. Each is safe to run twice, or in two workers at once."""

import logging

from celery import shared_task

from . import actions, alerts, break_intake, delivery, digest, intake, replay, watch
from .replay.queue import send_replay

__all__ = ["send_replay"]  # defined with the replay rules; registered here for autodiscovery

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def intake_changes() -> dict[str, int]:
    result = intake.consume()
    if result.changes:
        log.info(
            "exceptions: %d status changes, %d cases opened, %d bumped, %d resolved",
            result.changes,
            result.opened,
            result.bumped,
            result.resolved,
        )
    breaks = break_intake.consume()
    if breaks.changes:
        log.info(
            "exceptions: %d break changes, %d cases opened, %d updated, %d resolved",
            breaks.changes,
            breaks.opened,
            breaks.updated,
            breaks.resolved,
        )
    return {
        "status changes": result.changes,
        "cases opened": result.opened,
        "bumped": result.bumped,
        "resolved": result.resolved,
        "break changes": breaks.changes,
        "break cases opened": breaks.opened,
        "break cases updated": breaks.updated,
        "break cases resolved": breaks.resolved,
    }


@shared_task(acks_late=True, ignore_result=True)
def housekeeping() -> dict[str, int]:
    woken = actions.wake_snoozed()
    expired = replay.expire_unconfirmed()
    due = replay.due()
    for replay_id in due:
        send_replay.delay(replay_id)
    if woken or expired or due:
        log.info("exceptions: %d woken, %d replays expired, %d resent", woken, expired, len(due))
    return {"snoozed cases woken": woken, "replays expired": expired, "replays resent": len(due)}


@shared_task(acks_late=True, ignore_result=True)
def send_alerts() -> dict[str, int]:
    """Send what the outbox holds (and write due reminders first)."""
    alerts.reminders()
    sent = tried = 0
    for alert_id in delivery.due():
        tried += 1
        if delivery.deliver(alert_id).done:
            sent += 1
    return {"alerts sent": sent, "left to retry": tried - sent}


@shared_task(acks_late=True, ignore_result=True)
def send_alert(alert_id: int) -> str:
    return delivery.deliver(alert_id).detail


@shared_task(acks_late=True, ignore_result=True)
def evaluate_rules() -> dict[str, int]:
    """Metric rules (revenue at risk, failure rate, stuck count, burn rate), every minute."""
    return watch.evaluate()


@shared_task(acks_late=True, ignore_result=True)
def send_digests() -> dict[str, int]:
    return {"digests sent": digest.send_due()}
