"""The ledger's rows: reading transactions' stored state, and the rows a merge writes.

Column lists are declared once here, with their staging tables (``batch_sql.register_staging``),
for the ledger's writes (``tracking.ledger``) and the benches that load a ledger directly.
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection

from . import journeys
from .batch_sql import pg_query, register_staging
from .models import DeadLetter, Event, Transaction, TransactionState
from .projection import TEXT_FACTS, LedgerState

TXN_FIELDS = [
    "id",
    "correlation_id",
    "journey_id",
    "version",
    "status",
    "current_stage_id",
    "stage_status",
    "stage_event_at",
    "stage_event_id",
    "error_code",
    "error_message",
    "started_at",
    "last_event_at",
    "completed_at",
    "next_deadline_at",
    "stage_times",
    "facts",
    "event_count",
    "stage_amounts",
]
# Read from (and written to) TransactionState, not the ledger row.
STATE_FIELDS = {"status", "version"}


def load_states(correlation_ids: list[str]) -> dict[str, LedgerState]:
    """The stored state of these transactions.

    Not locked: the write back is guarded by each row's version, and a batch that lost a
    race runs again (``run_atomic``). Locking with FOR UPDATE cost a WAL record per row for
    a conflict that real traffic almost never has.
    """
    if not correlation_ids:
        return {}
    if connection.vendor == "postgresql":
        columns = ", ".join(
            f"s.{f}" if f in STATE_FIELDS else f"t.{Transaction._meta.get_field(f).column}"
            for f in TXN_FIELDS
        )
        rows = pg_query(
            f"SELECT {columns} FROM tracking_transaction t "  # noqa: S608
            "LEFT JOIN tracking_transactionstate s ON s.transaction_id = t.id "
            "WHERE t.correlation_id = ANY(%s) ORDER BY t.correlation_id",
            [correlation_ids],
        )
    else:
        rows = (
            Transaction.objects.filter(correlation_id__in=correlation_ids)
            .order_by("correlation_id")
            .values_list(*(f"state__{f}" if f in STATE_FIELDS else f for f in TXN_FIELDS))
        )
    states = {}
    for row in rows:
        values = dict(zip(TXN_FIELDS, row, strict=True))
        if values["version"] is None:
            # A ledger row without its state row (made outside the ledger, say): merged as
            # moving, and the write below gives it one.
            values["version"], values["status"] = 0, "in_progress"
        state = LedgerState(**values)
        journey = journeys.by_id(state.journey_id)
        if journey is not None and state.current_stage_id is not None:
            state.stage_position = next(
                (s.position for s in journey.stages if s.id == state.current_stage_id), -1
            )
        states[state.correlation_id] = state
    return states


def known_hashes(keys: list[tuple[int | None, str]], with_letters: bool) -> dict[tuple, str]:
    """Content hash of each (flow id, event id) already recorded (or waiting as a letter).

    Event ids are the flows' own: the same id from two flows names two events.
    """
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        flows, ids = [k[0] for k in keys], [k[1] for k in keys]
        sql = (
            "SELECT e.flow_id, e.event_id, e.content_hash FROM tracking_event e "
            "JOIN unnest(%s::int[], %s::text[]) AS k(flow_id, event_id) "
            "ON e.flow_id = k.flow_id AND e.event_id = k.event_id"
        )
        params: list[object] = [flows, ids]
        if with_letters:
            sql += (
                " UNION ALL SELECT d.flow_id, d.event_id, d.content_hash FROM tracking_deadletter d"
                " JOIN unnest(%s::int[], %s::text[]) AS k(flow_id, event_id)"
                " ON d.flow_id = k.flow_id AND d.event_id = k.event_id"
                " WHERE d.resolved_at IS NULL"
            )
            params += [flows, ids]
        return {(flow, event_id): h for flow, event_id, h in pg_query(sql, params)}
    wanted = set(keys)
    ids = list({k[1] for k in keys})
    rows = list(
        Event.objects.filter(event_id__in=ids).values_list("flow_id", "event_id", "content_hash")
    )
    if with_letters:
        letters = DeadLetter.objects.filter(event_id__in=ids, resolved_at__isnull=True)
        rows += letters.values_list("flow_id", "event_id", "content_hash")
    return {(f, e): h for f, e, h in rows if (f, e) in wanted}


def transaction_row(state: LedgerState, now: datetime) -> tuple:
    facts = state.facts
    amount = facts.get("amount")
    flow = facts.get("flow_id")
    return (
        state.correlation_id,
        state.journey_id,
        state.current_stage_id,
        state.stage_status,
        state.stage_event_at,
        state.stage_event_id,
        state.error_code,
        state.error_message,
        state.started_at,
        state.last_event_at,
        state.completed_at,
        state.next_deadline_at,
        state.stage_times,
        facts,
        state.event_count,
        state.stage_amounts,
        None if flow is None else flow[2],
        *(facts[name][2] if name in facts else "" for name in TEXT_FACTS),
        None if amount is None else Decimal(amount[2][0]),
        "" if amount is None else amount[2][1],
        now,
        now,
    )


def state_row(txn_id: int, state: LedgerState) -> tuple:
    """The transaction's row of TransactionState (``STATE_WRITE``), one version on."""
    return (txn_id, state.status, state.version + 1, state.last_event_at, state.next_deadline_at)


TXN_WRITE = [
    *(f for f in TXN_FIELDS[1:] if f not in STATE_FIELDS),
    "flow",
    *TEXT_FACTS,
    "amount",
    "currency",
    "created_at",
    "updated_at",
]
TXN_UPDATE = [c for c in TXN_WRITE if c not in {"correlation_id", "created_at"}]

EVENT_COLUMNS = [
    "event_id",
    "transaction",
    "journey",
    "stage",
    "status",
    "occurred_at",
    "received_at",
    "flow",
    "amount",
    "currency",
    "error_code",
    "error_message",
    "attributes",
    "source",
    "trace_id",
    "span_id",
    "content_hash",
    "system",
    "contract_version",
]


LETTER_COLUMNS = [
    "event_id",
    "correlation_id",
    "flow",
    "source",
    "payload",
    "content_hash",
    "reason",
    "received_at",
]
STATE_WRITE = ["transaction", "status", "version", "last_event_at", "next_deadline_at"]
register_staging(Transaction, TXN_WRITE)
register_staging(TransactionState, STATE_WRITE)
register_staging(Event, EVENT_COLUMNS)
register_staging(DeadLetter, LETTER_COLUMNS)
