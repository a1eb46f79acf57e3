"""The change feed: transactions whose derived figures are due to be worked out again.

The ledger and the stuck sweep enter a transaction when it changes; the metrics engine
(``dashboards.refresh``) claims the due ones and enters again those whose figures change by
themselves later (an SLA deadline passing). This module is the feed's only writer: entering
(the earliest due time wins), claiming, and filling it with the whole ledger for a rebuild.
"""

from datetime import datetime

from django.db import connection

from .batch_sql import delete_by_keys, pg_query, register_staging, upsert
from .models import ChangedTransaction, Transaction

COLUMNS = ["transaction", "due_at"]
register_staging(ChangedTransaction, COLUMNS)
TABLE = ChangedTransaction._meta.db_table

# Entering the ids of an array parameter ``%(ids)s`` due at ``%(now)s``, for a statement
# that writes the feed beside another table in one round trip (the sweep's).
ENTER_IDS_SQL = (
    f"INSERT INTO {TABLE} (transaction_id, due_at) "  # noqa: S608
    "SELECT id, %(now)s FROM unnest(%(ids)s::bigint[]) AS id ON CONFLICT (transaction_id) "
    f"DO UPDATE SET due_at = excluded.due_at WHERE {TABLE}.due_at > excluded.due_at"
)


def schedule(entries: list[tuple[int, datetime]]) -> None:
    """Enter (transaction id, due at) pairs; where one is entered already, the earliest
    due time wins."""
    upsert(
        ChangedTransaction,
        COLUMNS,
        entries,
        conflict=["transaction"],
        update=["due_at"],
        update_where=f'{TABLE}."due_at" > EXCLUDED."due_at"',
    )


def mark_changed(transaction_ids: list[int], due_at: datetime) -> None:
    """Enter transactions that just changed, due at ``due_at``."""
    schedule([(txn_id, due_at) for txn_id in transaction_ids])


def claim(now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due entries off the feed, earliest first; rows another worker
    holds are skipped. Call inside the transaction that handles them: a rollback puts
    them back."""
    if connection.vendor == "postgresql":
        return [
            row[0]
            for row in pg_query(
                f"DELETE FROM {TABLE} WHERE transaction_id IN ("  # noqa: S608
                f"SELECT transaction_id FROM {TABLE} WHERE due_at <= %s ORDER BY due_at "
                "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING transaction_id",
                [now, limit],
            )
        ]
    ids = list(
        ChangedTransaction.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("transaction_id", flat=True)[:limit]
    )
    delete_by_keys(ChangedTransaction, "transaction", ids)
    return ids


def enter_all(due_at: datetime) -> None:
    """Enter every transaction of the ledger, due at ``due_at`` (a rebuild's start)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (transaction_id, due_at) "  # noqa: S608
            f"SELECT id, %s FROM {Transaction._meta.db_table} WHERE true "
            "ON CONFLICT (transaction_id) DO UPDATE SET due_at = excluded.due_at",
            # SQLite compares stored text: the value must be in the ORM's own format.
            [connection.ops.adapt_datetimefield_value(due_at)],
        )


def vacuum() -> None:
    """VACUUM ANALYZE the feed (PostgreSQL, outside a transaction): after a rebuild filled
    and emptied it, it holds a dead row per transaction that every claim would wade
    through until autovacuum came by."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
