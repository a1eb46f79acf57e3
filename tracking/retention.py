"""What ``manage.py apply_retention`` and the daily beat job delete, and nothing else.

Spans older than SPAN_RETENTION_DAYS go: on PostgreSQL by dropping whole day partitions
(never a mass DELETE), plus a batched DELETE of the small DEFAULT partition; on SQLite (a
plain table) by batched DELETE. Events go only when EVENT_RETENTION_DAYS is set (they are
finance's evidence), and only those of transactions that are over (completed or failed)
and quiet for longer than that: a transaction's events are removed all together, never
part of them, and never while the transaction may still move. Transactions, their state,
cases and the audit log are never touched (docs/scaling.md, "Span partitions and
retention").
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import partitions
from .batch_sql import delete_by_keys
from .models import Event, Span, TransactionStatus

BATCH = 5_000
CLOSED = [TransactionStatus.COMPLETED, TransactionStatus.FAILED]


@dataclass
class RetentionResult:
    partitioned: bool = False  # PostgreSQL's partitioned table, or SQLite's plain one
    span_cutoff: datetime | None = None
    event_cutoff: datetime | None = None
    dropped: list[partitions.Partition] = field(default_factory=list)
    spans_deleted: int = 0  # by DELETE: the DEFAULT partition, or SQLite's plain table
    events_deleted: int = 0


def apply(
    span_days: int | None = None,
    event_days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete what retention allows; 0 days keeps everything of that kind."""
    span_days = settings.SPAN_RETENTION_DAYS if span_days is None else span_days
    event_days = settings.EVENT_RETENTION_DAYS if event_days is None else event_days
    now = now or timezone.now()
    result = RetentionResult()
    if span_days > 0:
        result.span_cutoff = now - timedelta(days=span_days)
        _spans(result, dry_run)
    if event_days > 0:
        result.event_cutoff = now - timedelta(days=event_days)
        if not dry_run:
            result.events_deleted = _events(result.event_cutoff)
    return result


def _spans(result: RetentionResult, dry_run: bool) -> None:
    cutoff = result.span_cutoff
    result.partitioned = partitions.partitioned()
    if result.partitioned:
        result.dropped = partitions.drop_older_than(cutoff, dry_run=dry_run)
        if not dry_run:
            result.spans_deleted = partitions.purge_default(cutoff)
        return
    if dry_run:
        return
    while ids := list(
        Span.objects.filter(start_time__lt=cutoff).values_list("id", flat=True)[:BATCH]
    ):
        delete_by_keys(Span, "id", ids)
        result.spans_deleted += len(ids)


def _events(cutoff: datetime) -> int:
    deleted = 0
    over = Event.objects.filter(
        transaction__state__status__in=CLOSED, transaction__state__last_event_at__lt=cutoff
    )
    while ids := list(over.values_list("id", flat=True)[:BATCH]):
        delete_by_keys(Event, "id", ids)
        deleted += len(ids)
    return deleted
