"""Group commit: reports that a process's threads receive at the same moment are recorded
in one database transaction, sharing its statements and its one WAL flush.

A status callback sent on its own costs the ledger a fixed round of statements and a commit
(a disk flush); a batch of a hundred costs about the same round. Under gunicorn's threaded
workers (``--threads``), a request thread hands its validated events to ``GroupCommit`` and
waits. Leader and followers: a thread that finds no batch being written leads. It takes the
reports waiting (its own first), records them with one ``ledger.record`` in one transaction,
gives each thread its own outcomes, then passes the lead to the first report that came in
meanwhile. Nobody waits on a timer: alone, a report is written at once, as before; under load,
what arrived during one commit goes into the next.

A report is acknowledged only after the transaction holding it committed, and its outcome
(recorded, duplicate, refused, dead letter) is what the ledger made of it in that
transaction: the answer a batch request holding the same events would get. (So an event
that names no journey, for a transaction another report of the same commit creates, is
placed on it rather than kept as a dead letter.)

Failures: a report that breaks the shared write (a value the database refuses, a bug) is
found by writing each report again on its own, so it fails alone. A failure that is no
report's (the database unreachable, a race still lost after ``run_atomic``'s retries) is
every report's answer at once: 503, retried by the clients, each finding its events
recorded or not, as a duplicate or anew. Anything else that stops the leader still answers
every thread it holds.
"""

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError

from .. import counters, ledger
from ..projection import IncomingEvent

# Failures of the write itself, not of a report in it: retrying report by report would
# only make every waiting request wait that many times longer for the same answer.
NOBODYS_FAULT = (OperationalError, InterfaceError, ledger.ConcurrentWrite)

Writer = Callable[[list[IncomingEvent]], ledger.RecordResult]


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Report:
    """One request's events, and what became of them."""

    events: list[IncomingEvent]
    result: ledger.RecordResult | None = None
    error: BaseException | None = None
    # Released when answered or made leader: each thread waits on its own, so a commit wakes
    # only the threads it concerns. A held lock rather than an Event: a C object, where an
    # Event is a Condition built in Python, a cost each callback paid.
    woken: threading.Lock = field(default_factory=_held_lock)

    @property
    def answered(self) -> bool:
        return self.result is not None or self.error is not None

    def answer(self) -> ledger.RecordResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class GroupCommit:
    """Records reports from many threads, a batch per transaction (see the module's doc)."""

    def __init__(self, write: Writer = ledger.safe_record, max_events: int | None = None) -> None:
        self._write = write
        # A batch request may hold INGEST_MAX_EVENTS: a shared commit holds no more.
        self.max_events = max_events or settings.INGEST_MAX_EVENTS
        self._lock = threading.Lock()
        self._waiting: deque[_Report] = deque()
        self._leading = False

    def waiting(self) -> int:
        """Reports waiting for a batch (not those being written)."""
        with self._lock:
            return len(self._waiting)

    def record(self, events: list[IncomingEvent]) -> ledger.RecordResult:
        """Record ``events`` with whatever else is waiting; their outcomes, in order."""
        report = _Report(events)
        with self._lock:
            self._waiting.append(report)
            follows = self._leading
            self._leading = True
        if follows:
            report.woken.acquire()
            if report.answered:  # else it was made the next leader
                return report.answer()
        self._lead()
        return report.answer()

    def _lead(self) -> None:
        with self._lock:
            batch, size = [], 0
            # At least one report (a single request may hold the whole cap), then as many
            # as fit, in arrival order: the leader's own report is first.
            while self._waiting:
                report = self._waiting[0]
                if batch and size + len(report.events) > self.max_events:
                    break
                self._waiting.popleft()
                batch.append(report)
                size += len(report.events)
        try:
            self._write_batch(batch)
        except BaseException:
            # Stopped mid-way (a worker's shutdown): whoever has no answer yet is told to
            # retry; a retry of what did commit is found a duplicate.
            for report in batch:
                if not report.answered:
                    report.error = ledger.ConcurrentWrite("the write was interrupted")
            raise
        finally:
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                self._leading = successor is not None
            for report in batch[1:]:  # the first is this thread's own
                report.woken.release()
            if successor is not None:
                successor.woken.release()  # not answered: it leads the next batch

    def _write_batch(self, batch: list[_Report]) -> None:
        counters.count_shared_commit(len(batch))
        events = [event for report in batch for event in report.events]
        try:
            result = self._write(events)
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, NOBODYS_FAULT):
                for report in batch:
                    report.error = exc
                return
            for report in batch:
                try:
                    report.result = self._write(report.events)
                except Exception as alone:
                    report.error = alone
            return
        at = 0
        for report in batch:
            outcomes = result.outcomes[at : at + len(report.events)]
            report.result = ledger.RecordResult(outcomes)
            at += len(report.events)


# One per process: the threads of a gunicorn worker share it.
_shared = GroupCommit()


def record(events: list[IncomingEvent]) -> ledger.RecordResult:
    """Record ``events`` together with what this process's other threads are sending."""
    return _shared.record(events)
