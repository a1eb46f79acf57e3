"""Write accepted reports into the ledger: events, transactions and dead letters.

``record()`` runs inside the caller's database transaction, so a report and its effect on
the transaction are durable together or not at all. It costs a fixed number of statements
per call, whatever the number of events, in four steps:

1. sort out repeats: events already recorded (or waiting as dead letters) are duplicates,
   or errors when their content differs;
2. merge: load the transactions touched, place each event on its journey and fold it in
   (``tracking.projection``);
3. write the transactions and their states, guarded by each state's version, with the
   outbox and change feed entries (``tracking.outbox``);
4. write the events, and the dead letters of events that could not be placed.
"""

import contextvars
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import orjson
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from . import journeys, ledger_rows, outbox
from .batch_sql import insert, upsert
from .ledger_rows import (
    EVENT_COLUMNS,
    LETTER_COLUMNS,
    STATE_WRITE,
    TXN_UPDATE,
    TXN_WRITE,
    state_row,
    transaction_row,
)
from .models import DeadLetter, Event, Transaction, TransactionState
from .projection import IncomingEvent, LedgerState, PlacedEvent, apply, finalize

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


@dataclass
class _Merge:
    """What step 2 made of the fresh events: the transactions as they now stand, the
    events placed on them, and each transaction's (status, stage event) before."""

    touched: dict[str, LedgerState] = field(default_factory=dict)
    placed: list[tuple[int, PlacedEvent]] = field(default_factory=list)
    before: dict[str, tuple[str, str]] = field(default_factory=dict)

    def ordered(self) -> list[LedgerState]:
        # In key order: concurrent batches lock their rows in the same order.
        return [self.touched[cid] for cid in sorted(self.touched)]


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
    trusted = known_new and _attempt.get() == 0
    fresh = _sort_out_repeats(events, hashes, result, trusted, write_dead_letters)
    now = timezone.now()
    merge = _merge(events, fresh, result, now)
    txn_ids = _write_transactions(merge, now)
    _write_events(events, merge, hashes, txn_ids, received_at, trusted)
    if write_dead_letters:
        _write_letters(events, fresh, hashes, result, received_at)
    return result


def _sort_out_repeats(
    events: list[IncomingEvent],
    hashes: list[str],
    result: RecordResult,
    trusted: bool,
    with_letters: bool,
) -> list[int]:
    """Step 1: mark duplicates and id clashes, against this batch and what is stored;
    the indexes of the events left to record."""
    known: dict[tuple, str] = {}
    if not trusted:
        known = ledger_rows.known_hashes(list({e.key for e in events}), with_letters)
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
    return fresh


def _merge(
    events: list[IncomingEvent], fresh: list[int], result: RecordResult, now: datetime
) -> _Merge:
    """Step 2: load the transactions touched, place each event on its journey, fold it in."""
    states = ledger_rows.load_states(sorted({events[i].correlation_id for i in fresh}))
    previous_top = {cid: s.top_key() for cid, s in states.items()}
    merge = _Merge(before={cid: (s.status, s.stage_event_id) for cid, s in states.items()})
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
        merge.touched[event.correlation_id] = state
        merge.placed.append((index, spot))
    for cid, state in merge.touched.items():
        journey = journeys.by_id(state.journey_id)
        assert journey is not None
        finalize(state, journey, previous_top.get(cid), now)
    return merge


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


def _write_transactions(merge: _Merge, now: datetime) -> dict[str, int]:
    """Step 3: the ledger rows and their states, and the outbox; correlation ID -> id."""
    ordered = merge.ordered()
    txn_ids = dict(
        upsert(
            Transaction,
            TXN_WRITE,
            [transaction_row(s, now) for s in ordered],
            conflict=["correlation_id"],
            update=TXN_UPDATE,
            returning=["correlation_id", "id"],
        )
    )
    # The ledger row above took the row's lock; a batch or sweep that changed the
    # transaction since its state was read has moved the version on, and this batch
    # rolls back (both rows) and merges again.
    guarded = upsert(
        TransactionState,
        STATE_WRITE,
        [state_row(txn_ids[s.correlation_id], s) for s in ordered],
        conflict=["transaction"],
        update=STATE_WRITE[1:],
        update_where='tracking_transactionstate."version" = EXCLUDED."version" - 1',
        returning=["transaction"],
    )
    if len(guarded) != len(ordered):
        raise ConcurrentWrite("a transaction changed while this batch was merged")
    outbox.publish(ordered, merge.before, txn_ids, now)
    return txn_ids


def _write_events(
    events: list[IncomingEvent],
    merge: _Merge,
    hashes: list[str],
    txn_ids: dict[str, int],
    received_at: datetime,
    trusted: bool,
) -> None:
    """Step 4a: the placed events. An id recorded by another request meanwhile sends the
    batch round again (``run_atomic``), to be found a duplicate then."""
    rows = []
    for index, spot in merge.placed:
        ev = spot.incoming
        rows.append(
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
                ev.system,
                ev.contract_version,
            )
        )
    if trusted:
        try:
            insert(Event, EVENT_COLUMNS, rows)
        except IntegrityError as exc:
            raise ConcurrentWrite("an event id thought new was recorded already") from exc
        return
    inserted = upsert(
        Event, EVENT_COLUMNS, rows, conflict=["flow", "event_id"], returning=["event_id"]
    )
    if len(inserted) != len(rows):
        raise ConcurrentWrite("an event id was recorded by another request meanwhile")


def _write_letters(
    events: list[IncomingEvent],
    fresh: list[int],
    hashes: list[str],
    result: RecordResult,
    received_at: datetime,
) -> None:
    """Step 4b: events that could not be placed, kept with the reason (one waiting letter
    per flow's event id)."""
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
        LETTER_COLUMNS,
        letters,
        conflict=["flow", "event_id"],
        conflict_where="resolved_at IS NULL",
    )


def safe_record(events: list[IncomingEvent]) -> RecordResult:
    """``record`` in its own database transaction, retried after a lost race."""
    return run_atomic(lambda: record(events))
