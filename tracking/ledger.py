"""Write accepted reports into the ledger: events, transactions and dead letters.

``record()`` runs inside the caller's database transaction, so a report and its effect on
the transaction are durable together or not at all. It costs a fixed number of statements
per call, whatever the number of events: look up known event ids, lock the transactions
touched, upsert them, insert the events, insert the dead letters.
"""

import contextvars
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import orjson
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from . import journeys
from .bulk import insert, pg_query, register_staging, upsert
from .models import (
    ChangedTransaction,
    DeadLetter,
    Event,
    StatusChange,
    Transaction,
    TransactionState,
)
from .projection import TEXT_FACTS, IncomingEvent, LedgerState, PlacedEvent, apply, finalize

T = TypeVar("T")

RECORDED = "recorded"
DUPLICATE = "duplicate"
DEAD_LETTER = "dead_letter"
ERROR = "error"


class ConcurrentWrite(Exception):
    """Another request wrote the same transaction or event id meanwhile: run again."""


@dataclass
class Outcome:
    kind: str
    detail: str = ""


@dataclass
class RecordResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)


def content_hash(event: IncomingEvent) -> str:
    return hashlib.sha256(orjson.dumps(event.to_payload(), option=orjson.OPT_SORT_KEYS)).hexdigest()


_attempt: contextvars.ContextVar[int] = contextvars.ContextVar("c2c_attempt", default=0)


def run_atomic(work: Callable[[], T], attempts: int = 6) -> T:
    """Run ``work`` in a database transaction, again if it lost a race or a deadlock.

    Between attempts it waits a random, growing while (up to ~0.6 s in all), so that
    requests racing for one transaction stop meeting. Still losing after that raises
    ConcurrentWrite, which the web layer answers with 503 + Retry-After.
    """
    for attempt in range(attempts):
        token = _attempt.set(attempt)
        try:
            with transaction.atomic():
                return work()
        except ConcurrentWrite:
            if attempt == attempts - 1:
                raise
        except OperationalError as exc:
            cause = type(exc.__cause__).__name__
            if cause not in {"DeadlockDetected", "SerializationFailure"}:
                raise
            if attempt == attempts - 1:
                raise ConcurrentWrite(f"gave up after {attempts} attempts: {cause}") from exc
        finally:
            _attempt.reset(token)
        time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


_TXN_FIELDS = [
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
]
# Read from (and written to) TransactionState, not the ledger row.
_STATE_FIELDS = {"status", "version"}


def _load_states(correlation_ids: list[str]) -> dict[str, LedgerState]:
    """The stored state of these transactions.

    Not locked: the write back is guarded by each row's version, and a batch that lost a
    race runs again (``run_atomic``). Locking with FOR UPDATE cost a WAL record per row for
    a conflict that real traffic almost never has.
    """
    if not correlation_ids:
        return {}
    if connection.vendor == "postgresql":
        columns = ", ".join(
            f"s.{f}" if f in _STATE_FIELDS else f"t.{Transaction._meta.get_field(f).column}"
            for f in _TXN_FIELDS
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
            .values_list(*(f"state__{f}" if f in _STATE_FIELDS else f for f in _TXN_FIELDS))
        )
    states = {}
    for row in rows:
        values = dict(zip(_TXN_FIELDS, row, strict=True))
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


def _known_hashes(keys: list[tuple[int | None, str]], with_letters: bool) -> dict[tuple, str]:
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


def _place(
    event: IncomingEvent, state: LedgerState | None
) -> tuple[PlacedEvent | None, Outcome | None]:
    slug = event.journey
    if state is not None:
        known = journeys.by_id(state.journey_id)
        if slug and known is not None and slug != known.slug:
            return None, Outcome(
                ERROR,
                f"transaction {event.correlation_id} follows journey {known.slug!r}, not {slug!r}",
            )
        journey = known
    elif not slug:
        return None, Outcome(
            DEAD_LETTER, f"no journey given and transaction {event.correlation_id} is unknown"
        )
    else:
        journey = journeys.by_slug(slug)
    if journey is None:
        return None, Outcome(DEAD_LETTER, f"unknown journey {slug!r}")
    stage = journey.by_slug.get(event.stage)
    if stage is None:
        return None, Outcome(
            DEAD_LETTER, f"unknown stage {event.stage!r} of journey {journey.slug!r}"
        )
    return PlacedEvent(event, journey, stage), None


def _transaction_row(state: LedgerState, now: datetime) -> tuple:
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
        None if flow is None else flow[2],
        *(facts[name][2] if name in facts else "" for name in TEXT_FACTS),
        None if amount is None else Decimal(amount[2][0]),
        "" if amount is None else amount[2][1],
        now,
        now,
    )


def _state_row(txn_id: int, state: LedgerState) -> tuple:
    """The transaction's row of TransactionState (``_STATE_WRITE``), one version on."""
    return (txn_id, state.status, state.version + 1, state.last_event_at, state.next_deadline_at)


_TXN_WRITE = [
    *(f for f in _TXN_FIELDS[1:] if f not in _STATE_FIELDS),
    "flow",
    *TEXT_FACTS,
    "amount",
    "currency",
    "created_at",
    "updated_at",
]
_TXN_UPDATE = [c for c in _TXN_WRITE if c not in {"correlation_id", "created_at"}]

_EVENT_COLUMNS = [
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
]


_LETTER_COLUMNS = [
    "event_id",
    "correlation_id",
    "flow",
    "source",
    "payload",
    "content_hash",
    "reason",
    "received_at",
]
CHANGE_COLUMNS = [
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
FEED_COLUMNS = ["transaction", "due_at"]
_STATE_WRITE = ["transaction", "status", "version", "last_event_at", "next_deadline_at"]
register_staging(Transaction, _TXN_WRITE)
register_staging(TransactionState, _STATE_WRITE)
register_staging(StatusChange, CHANGE_COLUMNS)
register_staging(ChangedTransaction, FEED_COLUMNS)
register_staging(Event, _EVENT_COLUMNS)
register_staging(DeadLetter, _LETTER_COLUMNS)


def record(
    events: list[IncomingEvent],
    *,
    received_at: datetime | None = None,
    write_dead_letters: bool = True,
    known_new: bool = False,
) -> RecordResult:
    """Record events; one outcome per input event, in order. Call inside ``run_atomic``.

    ``known_new``: the caller knows no event with these ids was ever recorded (each comes
    from a span this transaction just inserted), so the look-up is skipped. Trusted on the
    first attempt only: if an insert then meets an existing id after all, the retry checks.
    """
    received_at = received_at or timezone.now()
    result = RecordResult([Outcome(RECORDED) for _ in events])
    hashes = [content_hash(e) for e in events]

    # 1. Duplicates, against this batch and what is stored (events and waiting letters).
    trusted = known_new and _attempt.get() == 0
    if trusted:
        known: dict[tuple, str] = {}
    else:
        known = _known_hashes(list({e.key for e in events}), write_dead_letters)
    fresh: list[int] = []
    for index, event in enumerate(events):
        seen = known.get(event.key)
        if seen is None:
            known[event.key] = hashes[index]
            fresh.append(index)
        elif seen == hashes[index]:
            result.outcomes[index] = Outcome(DUPLICATE)
        else:
            result.outcomes[index] = Outcome(
                ERROR, "event_id was already used for an event with different content"
            )

    # 2. Load the transactions touched, place each event on its journey, fold it in.
    states = _load_states(sorted({events[i].correlation_id for i in fresh}))
    previous_top = {cid: s.top_key() for cid, s in states.items()}
    previous_status = {cid: (s.status, s.stage_event_id) for cid, s in states.items()}
    placed: list[tuple[int, PlacedEvent]] = []
    touched: dict[str, LedgerState] = {}
    # Events naming their journey are placed first, earliest first: a new transaction's
    # journey then does not depend on the order of the batch.
    for index in sorted(
        fresh, key=lambda i: (not events[i].journey, events[i].stamp, events[i].event_id)
    ):
        event = events[index]
        state = states.get(event.correlation_id)
        spot, problem = _place(event, state)
        if problem is not None:
            result.outcomes[index] = problem
            continue
        assert spot is not None
        if state is None:
            state = states[event.correlation_id] = LedgerState(
                correlation_id=event.correlation_id, journey_id=spot.journey.id
            )
        apply(state, spot)
        touched[event.correlation_id] = state
        placed.append((index, spot))

    now = timezone.now()
    for cid, state in touched.items():
        journey = journeys.by_id(state.journey_id)
        assert journey is not None
        finalize(state, journey, previous_top.get(cid), now)

    # 3. Write: transactions and their states (guarded by version), events, dead letters.
    ordered = [touched[cid] for cid in sorted(touched)]
    txn_ids = dict(
        upsert(
            Transaction,
            _TXN_WRITE,
            [_transaction_row(s, now) for s in ordered],
            conflict=["correlation_id"],
            update=_TXN_UPDATE,
            returning=["correlation_id", "id"],
        )
    )
    # The ledger row above took the row's lock; a batch or sweep that changed the
    # transaction since its state was read has moved the version on, and this batch
    # rolls back (both rows) and merges again.
    guarded = upsert(
        TransactionState,
        _STATE_WRITE,
        [_state_row(txn_ids[s.correlation_id], s) for s in ordered],
        conflict=["transaction"],
        update=_STATE_WRITE[1:],
        update_where='tracking_transactionstate."version" = EXCLUDED."version" - 1',
        returning=["transaction"],
    )
    if len(guarded) != len(ordered):
        raise ConcurrentWrite("a transaction changed while this batch was merged")
    _publish(ordered, previous_status, txn_ids, now)

    event_rows = []
    for index, spot in placed:
        ev = spot.incoming
        event_rows.append(
            (
                ev.event_id,
                txn_ids[ev.correlation_id],
                spot.journey.id,
                spot.stage.id,
                ev.status,
                ev.occurred_at,
                received_at,
                ev.flow_id,
                ev.amount,
                ev.currency,
                ev.error_code,
                ev.error_message,
                ev.attributes,
                ev.source,
                ev.trace_id,
                ev.span_id,
                hashes[index],
            )
        )
    if trusted:
        try:
            insert(Event, _EVENT_COLUMNS, event_rows)
        except IntegrityError as exc:
            raise ConcurrentWrite("an event id thought new was recorded already") from exc
    else:
        inserted = upsert(
            Event,
            _EVENT_COLUMNS,
            event_rows,
            conflict=["flow", "event_id"],
            returning=["event_id"],
        )
        if len(inserted) != len(event_rows):
            raise ConcurrentWrite("an event id was recorded by another request meanwhile")

    if write_dead_letters:
        letters = [
            (
                events[i].event_id,
                events[i].correlation_id,
                events[i].flow_id,
                events[i].source,
                events[i].to_payload(),
                hashes[i],
                result.outcomes[i].detail,
                received_at,
            )
            for i in fresh
            if result.outcomes[i].kind == DEAD_LETTER
        ]
        upsert(
            DeadLetter,
            _LETTER_COLUMNS,
            letters,
            conflict=["flow", "event_id"],
            conflict_where="resolved_at IS NULL",
        )
    return result


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


def _publish(
    states: list[LedgerState],
    before: dict[str, tuple[str, str]],
    txn_ids: dict[str, int],
    now: datetime,
) -> None:
    """Write the outbox rows and the change feed for the transactions just written."""
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
    insert(StatusChange, CHANGE_COLUMNS, changes)
    mark_changed([txn_ids[s.correlation_id] for s in states], now)


def mark_changed(transaction_ids: list[int], due_at: datetime) -> None:
    """Enter transactions in the change feed, due at ``due_at`` (the earliest due wins)."""
    schedule([(txn_id, due_at) for txn_id in transaction_ids])


def schedule(entries: list[tuple[int, datetime]]) -> None:
    """Enter (transaction id, due at) pairs in the change feed; the earliest due wins."""
    upsert(
        ChangedTransaction,
        FEED_COLUMNS,
        entries,
        conflict=["transaction"],
        update=["due_at"],
        update_where=f'{ChangedTransaction._meta.db_table}."due_at" > EXCLUDED."due_at"',
    )


def safe_record(events: list[IncomingEvent]) -> RecordResult:
    """``record`` in its own database transaction, retried after a lost race."""
    return run_atomic(lambda: record(events))
