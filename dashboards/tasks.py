"""Celery tasks of the metrics. Each is safe to run twice, or in two workers at once."""

import logging

from celery import shared_task

from . import refresh, risk

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def refresh_rollups() -> int:
    result = refresh.refresh()
    if result.transactions:
        log.info(
            "rollups: %d transactions, %d changed, %d buckets recomputed, %d folded",
            result.transactions,
            result.changed,
            result.buckets,
            result.folded,
        )
    return result.transactions


@shared_task(acks_late=True, ignore_result=True)
def snapshot_risk() -> int:
    return risk.snapshot()
