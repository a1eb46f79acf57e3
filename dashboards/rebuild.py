"""Recompute every fact and rollup from the ledger (after a backfill or a policy edit)."""

from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from tracking import feed

from . import freshness, rollups
from .models import CoarseRollup, Fact, PendingRollup, RiskClock, Rollup
from .reconciliation import feed as contract_feed
from .reconciliation.refresh import reconcile_due
from .refresh import CHUNK, Context, process
from .rollups import RefreshResult


def rebuild(progress: Callable[[RefreshResult], None] | None = None) -> RefreshResult:
    """Recompute every fact and rollup from the ledger (after a backfill or a policy edit).

    Runs as one refresh over the whole ledger: every transaction is entered in the change
    feed, facts are rebuilt chunk by chunk, and the rollups are recomputed once at the end.
    If it is interrupted, run it again.
    """
    now = timezone.now()
    with transaction.atomic():
        rollups.take_turn(wait=True)
        for model in (Rollup, CoarseRollup, PendingRollup, Fact, RiskClock):
            rollups.empty(model)
        feed.enter_all(now)
    context = Context.load()
    result = RefreshResult()
    while True:
        with transaction.atomic():
            rollups.take_turn(wait=True)
            ids = feed.claim(now, CHUNK)
            if not ids:
                break
            changed, deltas = process(ids, context, now)
        result.transactions += len(ids)
        result.changed += changed
        result.dirty |= {key[0] for key in deltas}
        result.chunks += 1
        if progress:
            progress(result)
    with transaction.atomic():
        rollups.take_turn(wait=True)
        # Refreshes between the chunks above appended differences the facts already hold.
        for model in (Rollup, CoarseRollup, PendingRollup):
            rollups.empty(model)
        rollups.aggregate_all()
        freshness.bump()
    # Every contract, from scratch too.
    contract_feed.enter_all(now)
    reconciled = reconcile_due(now)
    result.contracts = reconciled.contracts
    result.breaks_opened, result.breaks_cleared = reconciled.opened, reconciled.cleared
    _tidy_after_rebuild()
    return result


def _tidy_after_rebuild() -> None:
    """Vacuum what the rebuild rewrote: the change feed it filled and emptied again, and the
    new facts and rollups, whose statistics the planner needs."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # VACUUM cannot run inside a transaction (a test's, say)
    feed.vacuum()
    with connection.cursor() as cursor:
        for model in (Fact, Rollup, CoarseRollup, PendingRollup, RiskClock):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
