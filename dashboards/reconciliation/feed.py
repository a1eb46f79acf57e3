"""The contract feed: contracts due to be reconciled again.

A transaction that changed enters its contract (and the one it was last reconciled under,
if its contract moved); a contract whose break may appear later with no report (a grace
period or deadline passing) enters itself, due then. The earliest due time wins.
"""

from datetime import datetime

from django.db import connection

from tracking.batch_sql import pg_query, register_staging, rows_by_keys, upsert
from tracking.models import Transaction

from ..models import ChangedContract, ContractMember

COLUMNS = ["contract", "due_at"]
register_staging(ChangedContract, COLUMNS)
TABLE = ChangedContract._meta.db_table


def schedule(entries: list[tuple[str, datetime]]) -> None:
    upsert(
        ChangedContract,
        COLUMNS,
        entries,
        conflict=["contract"],
        update=["due_at"],
        update_where=f'{TABLE}."due_at" > EXCLUDED."due_at"',
    )


def enter_for(transaction_ids: list[int], due_at: datetime) -> int:
    """Enter the contracts of these transactions, now and as last reconciled; how many."""
    if not transaction_ids:
        return 0
    keys = {c for _, c in rows_by_keys(Transaction, "id", transaction_ids, ["id", "contract"])}
    keys |= {
        c
        for _, c in rows_by_keys(
            ContractMember, "transaction", transaction_ids, ["transaction", "contract"]
        )
    }
    keys.discard("")
    schedule([(key, due_at) for key in sorted(keys)])
    return len(keys)


def enter_all(due_at: datetime) -> None:
    """Every contract the ledger names (a rebuild)."""
    keys = Transaction.objects.exclude(contract="").values_list("contract", flat=True).distinct()
    schedule([(key, due_at) for key in keys.iterator()])


def claim(now: datetime, limit: int) -> list[str]:
    """Take up to ``limit`` due contracts off the feed, earliest first (skipping those
    another worker holds); a rollback puts them back."""
    if connection.vendor == "postgresql":
        return [
            row[0]
            for row in pg_query(
                f"DELETE FROM {TABLE} WHERE contract IN (SELECT contract FROM {TABLE} "  # noqa: S608
                "WHERE due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING contract",
                [now, limit],
            )
        ]
    keys = list(
        ChangedContract.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("contract", flat=True)[:limit]
    )
    ChangedContract.objects.filter(contract__in=keys).delete()
    return keys
