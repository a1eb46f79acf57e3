"""Celery tasks of the exception queue. Each is safe to run twice, or in two workers at once."""

import logging

from celery import shared_task

from . import actions, alerts, delivery, digest, intake, replay, watch

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def intake_changes() -> int:
    result = intake.consume()
    if result.changes:
        log.info(
            "exceptions: %d status changes, %d cases opened, %d bumped, %d resolved",
            result.changes,
            result.opened,
            result.bumped,
            result.resolved,
        )
    return result.changes


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def send_replay(self, replay_id: str) -> str:
    attempt = replay.send(replay_id)
    if not attempt.done and not self.request.is_eager:
        # The beat's housekeeping also resends due replays: a lost retry delays, never drops.
        raise self.retry(countdown=attempt.retry_in)
    return attempt.outcome


@shared_task(acks_late=True, ignore_result=True)
def housekeeping() -> None:
    woken = actions.wake_snoozed()
    expired = replay.expire_unconfirmed()
    due = replay.due()
    for replay_id in due:
        send_replay.delay(replay_id)
    if woken or expired or due:
        log.info("exceptions: %d woken, %d replays expired, %d resent", woken, expired, len(due))


@shared_task(acks_late=True, ignore_result=True)
def send_alerts() -> int:
    """Send what the outbox holds (and write due reminders first)."""
    alerts.reminders()
    sent = 0
    for alert_id in delivery.due():
        if delivery.deliver(alert_id).done:
            sent += 1
    return sent


@shared_task(acks_late=True, ignore_result=True)
def send_alert(alert_id: int) -> str:
    return delivery.deliver(alert_id).detail


@shared_task(acks_late=True, ignore_result=True)
def evaluate_rules() -> dict[str, int]:
    """Metric rules (revenue at risk, failure rate, stuck count, burn rate), every minute."""
    return watch.evaluate()


@shared_task(acks_late=True, ignore_result=True)
def send_digests() -> int:
    return digest.send_due()
