"""Celery tasks of the ledger. Safe to run twice: the sweep marks each transaction once, a
partition is created once, retention finds nothing left the second time."""

import logging

from celery import shared_task
from django.conf import settings

from . import partitions, retention, sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sweep_stuck() -> int:
    result = sweep.sweep()
    if result.marked:
        log.info("stuck sweep marked %d transactions", result.marked)
    return result.marked


@shared_task(acks_late=True, ignore_result=True)
def create_span_partitions() -> int:
    """The span table's day partitions, SPAN_PARTITIONS_AHEAD days ahead; idempotent."""
    created = partitions.ensure(settings.SPAN_PARTITIONS_AHEAD)
    if created:
        log.info("created span partitions %s", ", ".join(created))
    return len(created)


@shared_task(acks_late=True, ignore_result=True)
def apply_retention() -> None:
    result = retention.apply()
    for p in result.dropped:
        log.info("retention dropped span partition %s (~%s rows)", p.name, p.rows_estimate)
    if result.spans_deleted or result.events_deleted:
        log.info(
            "retention deleted %d spans, %d events", result.spans_deleted, result.events_deleted
        )
