"""The stuck sweep: a transaction still in progress past its next-stage deadline is stuck.

Run every minute by Celery beat (``tracking.tasks.sweep_stuck``) and by
``manage.py compute_metrics``. It reads only the partial index of moving transactions by
deadline, so its cost follows the number newly late, not the size of the ledger. Each
transaction it marks gets one outbox row: a second run, or two at once, find nothing more
to mark (the update re-checks each row's status and deadline as it writes it).

Failed transactions are left alone: a failure not retried in time stays ``failed``, the
stronger signal. Newer progress reported by a flow clears ``stuck`` (see projection).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import feed, outbox
from .batch_sql import insert, pg_execute, pg_query
from .models import StatusChange, Transaction, TransactionState, TransactionStatus

BATCH = 5000


@dataclass
class SweepResult:
    marked: int = 0
    batches: int = 0


def sweep(now: datetime | None = None, batch: int = BATCH) -> SweepResult:
    """Mark every late moving transaction stuck, ``batch`` rows per database transaction."""
    now = now or timezone.now()
    result = SweepResult()
    while True:
        marked = _sweep_batch(now, batch)
        result.marked += marked
        result.batches += 1
        if marked < batch:
            return result


# Two statements per batch, no row through Python but the ids. The first marks the narrow
# state rows (the ledger rows are not written; see TransactionState). Concurrent writers
# are handled by its re-checked conditions: an UPDATE that waited on a row evaluates them
# again on the row's new version, so a transaction that moved meanwhile (or that another
# sweep marked) is skipped, and a batch of the ledger that read the state before this mark
# finds the version moved on and merges again. Locking the rows first (FOR UPDATE) would
# write each one twice.
_MARK = (
    "UPDATE tracking_transactionstate SET status = 'stuck', version = version + 1 "
    "WHERE status = 'in_progress' AND next_deadline_at <= %(now)s AND transaction_id IN ("
    "SELECT transaction_id FROM tracking_transactionstate WHERE status = 'in_progress' "
    "AND next_deadline_at <= %(now)s ORDER BY next_deadline_at LIMIT %(batch)s) "
    "RETURNING transaction_id"
)
# The second writes the outbox rows and the change feed. It reads the ledger rows in a
# snapshot taken after the mark, so with the stage a batch committed while the mark waited
# for it: read in the mark's own statement, the outbox would name the stage before it.
_RECORD = (
    "WITH outbox AS (INSERT INTO tracking_statuschange (transaction_id, correlation_id, "  # noqa: S608
    "journey_id, stage_id, from_status, to_status, cause, event_id, error_code, error_message, "
    "changed_at) SELECT id, correlation_id, journey_id, current_stage_id, 'in_progress', "
    "'stuck', 'sweep', stage_event_id, '', '', %(now)s FROM tracking_transaction "
    "WHERE id = ANY(%(ids)s) RETURNING 1) " + feed.ENTER_IDS_SQL
)


def _sweep_batch(now: datetime, batch: int) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            ids = [row[0] for row in pg_query(_MARK, {"now": now, "batch": batch})]
            if ids:
                pg_execute(_RECORD, {"now": now, "ids": ids})
            return len(ids)
        late = list(
            Transaction.objects.filter(
                state__status=TransactionStatus.IN_PROGRESS, state__next_deadline_at__lte=now
            )
            .order_by("state__next_deadline_at")
            .values_list(
                "id", "correlation_id", "journey_id", "current_stage_id", "stage_event_id"
            )[:batch]
        )
        if not late:
            return 0
        TransactionState.objects.filter(transaction_id__in=[row[0] for row in late]).update(
            status=TransactionStatus.STUCK, version=F("version") + 1
        )
        insert(
            StatusChange,
            outbox.COLUMNS,
            [
                (txn_id, cid, journey, stage, "in_progress", "stuck", "sweep", event, "", "", now)
                for txn_id, cid, journey, stage, event in late
            ],
        )
        feed.mark_changed([row[0] for row in late], now)
        return len(late)
