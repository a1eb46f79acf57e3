"""The ledger's outbox: one ``StatusChange`` row per status change worth telling others
(the exception queue consumes them), written in the same database transaction as the
change itself, and the change feed entries of every transaction written."""

from datetime import datetime

from . import feed
from .batch_sql import insert, register_staging
from .models import StatusChange
from .projection import LedgerState

COLUMNS = [
    "transaction",
    "correlation_id",
    "journey",
    "stage",
    "from_status",
    "to_status",
    "cause",
    "event_id",
    "error_code",
    "error_message",
    "changed_at",
]
register_staging(StatusChange, COLUMNS)


def status_changed(before: tuple[str, str] | None, state: LedgerState) -> bool:
    """Whether this merge is news for the outbox: a new status, or one more failure.

    A new transaction that is simply under way is not news; a repeated failure of the
    current stage is (exception cases count repeats).
    """
    if before is None:
        return state.status != "in_progress"
    status, event_id = before
    if status != state.status:
        return True
    return state.status == "failed" and event_id != state.stage_event_id


def publish(
    states: list[LedgerState],
    before: dict[str, tuple[str, str]],
    txn_ids: dict[str, int],
    now: datetime,
) -> None:
    """Write the outbox rows and the change feed for the transactions just written.

    ``before``: each correlation ID's (status, stage event id) before the merge.
    """
    changes = []
    for state in states:
        previous = before.get(state.correlation_id)
        if not status_changed(previous, state):
            continue
        changes.append(
            (
                txn_ids[state.correlation_id],
                state.correlation_id,
                state.journey_id,
                state.current_stage_id,
                "" if previous is None else previous[0],
                state.status,
                "event",
                state.stage_event_id,
                state.error_code,
                state.error_message,
                now,
            )
        )
    insert(StatusChange, COLUMNS, changes)
    feed.mark_changed([txn_ids[s.correlation_id] for s in states], now)
