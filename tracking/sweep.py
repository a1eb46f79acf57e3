"""The stuck sweep: a transaction still in progress past its next-stage deadline is stuck.

Run every minute by Celery beat (``tracking.tasks.sweep_stuck``) and by
``manage.py compute_metrics``. It reads only the partial index of moving transactions by
deadline, so its cost follows the number newly late, not the size of the ledger. Each
transaction it marks gets one outbox row: a second run, or two at once, find nothing more
to mark (rows are claimed with ``FOR UPDATE SKIP LOCKED`` and re-checked in the update).

Failed transactions are left alone: a failure not retried in time stays ``failed``, the
stronger signal. Newer progress reported by a flow clears ``stuck`` (see projection).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .bulk import insert
from .ledger import CHANGE_COLUMNS, mark_changed
from .models import StatusChange, Transaction, TransactionStatus

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


def _sweep_batch(now: datetime, batch: int) -> int:
    with transaction.atomic():
        late = list(
            Transaction.objects.filter(
                status=TransactionStatus.IN_PROGRESS, next_deadline_at__lte=now
            )
            .order_by("next_deadline_at")
            .select_for_update(skip_locked=True)
            .values_list(
                "id", "correlation_id", "journey_id", "current_stage_id", "stage_event_id"
            )[:batch]
        )
        if not late:
            return 0
        ids = [row[0] for row in late]
        Transaction.objects.filter(
            id__in=ids, status=TransactionStatus.IN_PROGRESS, next_deadline_at__lte=now
        ).update(status=TransactionStatus.STUCK, version=F("version") + 1, updated_at=now)
        insert(
            StatusChange,
            CHANGE_COLUMNS,
            [
                (txn_id, cid, journey, stage, "in_progress", "stuck", "sweep", event, "", "", now)
                for txn_id, cid, journey, stage, event in late
            ],
        )
        mark_changed(ids, now)
        return len(late)
