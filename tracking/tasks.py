"""Celery tasks of the ledger. Safe to run twice: the sweep marks each transaction once."""

import logging

from celery import shared_task

from . import sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sweep_stuck() -> int:
    result = sweep.sweep()
    if result.marked:
        log.info("stuck sweep marked %d transactions", result.marked)
    return result.marked
