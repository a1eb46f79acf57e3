"""Group commit: single reports that arrive together share one transaction, and each still
gets the answer it would have had on its own."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.tracking.factories import event
from tracking import ledger
from tracking.ingest import group_commit as module
from tracking.ingest.events import parse_event
from tracking.ingest.group_commit import GroupCommit
from tracking.models import DeadLetter, Event, Transaction

# Each thread writes on its own connection: the test's data must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)


class Gate:
    """A writer that holds the first batch until ``behind`` reports wait after it, so that
    what the next batch holds does not depend on the threads' timing."""

    def __init__(self, behind: int, write=ledger.safe_record) -> None:
        self.behind = behind
        self.write = write
        self.batches: list[list[str]] = []
        self.group: GroupCommit | None = None
        self.entered = threading.Event()

    def __call__(self, events):
        if not self.batches:
            self.entered.set()
            deadline = time.monotonic() + 10
            while self.group.waiting() < self.behind:
                assert time.monotonic() < deadline, "the other reports never arrived"
                time.sleep(0.005)
        self.batches.append([e.event_id for e in events])
        return self.write(events)


def gated(behind: int, max_events: int = 1000, write=ledger.safe_record):
    gate = Gate(behind, write)
    gate.group = GroupCommit(gate, max_events=max_events)
    return gate


def incoming(flow, **fields):
    return parse_event(event(fields.pop("stage", "work_approved"), **fields), flow.id, flow.slug)


def send_together(gate: Gate, first, rest) -> list:
    """``first`` leads and holds its batch; ``rest`` are sent meanwhile, one thread each.
    What each report got, in the order given: its outcome kind, or the error raised."""
    group = gate.group

    def send(report):
        try:
            (outcome,) = group.record([report]).outcomes
            return outcome.kind
        except BaseException as exc:  # what each thread got, the leader's stop included
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(rest) + 1) as pool:
        leader = pool.submit(send, first)
        assert gate.entered.wait(10)  # the first batch is being written: the rest wait
        answers = list(pool.map(send, rest))
        assert leader.result() == ledger.RECORDED
    return answers


def test_reports_arriving_during_a_commit_go_into_the_next_one(flow):
    gate = gated(behind=11)
    reports = [incoming(flow, correlation_id=f"SOW-{n}") for n in range(12)]
    answers = send_together(gate, reports[0], reports[1:])
    assert answers == [ledger.RECORDED] * 11
    assert [len(batch) for batch in gate.batches] == [1, 11]
    assert Event.objects.count() == 12
    assert Transaction.objects.count() == 12


def test_each_report_gets_the_answer_it_would_have_had_alone(flow):
    stored = incoming(flow, event_id="evt-stored", correlation_id="SOW-1")
    ledger.safe_record([stored])
    gate = gated(behind=5)
    new = incoming(flow, event_id="evt-new", correlation_id="SOW-2")
    answers = send_together(
        gate,
        incoming(flow, correlation_id="SOW-0"),
        [
            incoming(flow, event_id="evt-stored", correlation_id="SOW-1"),  # sent again
            incoming(flow, event_id="evt-stored", correlation_id="SOW-1", stage="invoice_sent"),
            new,
            incoming(flow, event_id="evt-new", correlation_id="SOW-2"),  # same, same batch
            incoming(flow, event_id="evt-lost", correlation_id="SOW-3", journey="unknown"),
        ],
    )
    assert [len(batch) for batch in gate.batches] == [1, 5]
    assert answers[0] == ledger.DUPLICATE
    assert answers[1] == ledger.ERROR
    # Two sends of one new event in one batch: one is recorded, the other is its duplicate.
    assert sorted(answers[2:4]) == [ledger.DUPLICATE, ledger.RECORDED]
    assert answers[4] == ledger.DEAD_LETTER
    assert DeadLetter.objects.filter(event_id="evt-lost").count() == 1
    assert Event.objects.filter(event_id__in=["evt-stored", "evt-new"]).count() == 2


def test_a_report_that_breaks_its_batch_fails_alone(flow):
    def write(events):
        if any(e.event_id == "evt-poison" for e in events):
            raise RuntimeError("this report cannot be written")
        return ledger.safe_record(events)

    gate = gated(behind=3, write=write)
    answers = send_together(
        gate,
        incoming(flow, correlation_id="SOW-0"),
        [
            incoming(flow, event_id="evt-a", correlation_id="SOW-1"),
            incoming(flow, event_id="evt-poison", correlation_id="SOW-2"),
            incoming(flow, event_id="evt-b", correlation_id="SOW-3"),
        ],
    )
    assert answers[0] == answers[2] == ledger.RECORDED
    assert isinstance(answers[1], RuntimeError)
    # The shared batch failed, then each of its reports was written on its own.
    assert gate.batches[1:] == [
        ["evt-a", "evt-poison", "evt-b"],
        ["evt-a"],
        ["evt-poison"],
        ["evt-b"],
    ]
    assert set(Event.objects.values_list("event_id", flat=True)) >= {"evt-a", "evt-b"}
    assert not Event.objects.filter(event_id="evt-poison").exists()


def test_a_database_failure_is_every_reports_answer_at_once(flow):
    def write(events):
        if len(events) > 1:
            raise OperationalError("the server closed the connection")
        return ledger.safe_record(events)

    gate = gated(behind=3, write=write)
    reports = [incoming(flow, correlation_id=f"SOW-{n}") for n in range(4)]
    answers = send_together(gate, reports[0], reports[1:])
    assert all(isinstance(answer, OperationalError) for answer in answers)
    # Not tried again report by report: the clients' retries will.
    assert [len(batch) for batch in gate.batches] == [1, 3]


class Stopped(BaseException):
    """What a worker's shutdown raises in the thread writing."""


def test_a_leader_stopped_mid_write_still_answers_every_thread(flow):
    def write(events):
        if len(events) > 1:
            raise Stopped
        return ledger.safe_record(events)

    gate = gated(behind=3, write=write)
    group = gate.group
    reports = [incoming(flow, correlation_id=f"SOW-{n}") for n in range(4)]
    answers = send_together(gate, reports[0], reports[1:])
    # One of the three led the failed batch and was stopped; the other two were told to
    # retry (503), not left waiting.
    assert sorted(type(a).__name__ for a in answers) == [
        "ConcurrentWrite",
        "ConcurrentWrite",
        "Stopped",
    ]
    assert group.waiting() == 0
    result = group.record([incoming(flow, correlation_id="SOW-after")])
    assert [o.kind for o in result.outcomes] == [ledger.RECORDED]


def test_a_batch_stops_at_its_event_cap(flow):
    gate = gated(behind=5, max_events=3)
    reports = [incoming(flow, correlation_id=f"SOW-{n}") for n in range(6)]
    answers = send_together(gate, reports[0], reports[1:])
    assert answers == [ledger.RECORDED] * 5
    assert [len(batch) for batch in gate.batches] == [1, 3, 2]


def test_alone_a_report_is_written_at_once(flow):
    group = GroupCommit()
    for n in range(2):
        result = group.record([incoming(flow, correlation_id=f"SOW-{n}")])
        assert [o.kind for o in result.outcomes] == [ledger.RECORDED]
        assert group.waiting() == 0
    assert Event.objects.count() == 2


def test_concurrent_callbacks_through_the_api_share_commits(flow, ingest_key, monkeypatch):
    gate = gated(behind=7)
    monkeypatch.setattr(module, "_shared", gate.group)
    bodies = [event("work_approved", correlation_id=f"SOW-{n}") for n in range(8)]
    bodies.append(bodies[3])  # a resend, within the same batch

    def post(body):
        try:
            response = Client().post(
                "/api/v1/events",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        first = pool.submit(post, bodies[0])
        assert gate.entered.wait(10)
        rest = list(pool.map(post, bodies[1:]))
        answers = [first.result(), *rest]
    assert {status for status, _ in answers} == {202}
    assert sum(body["accepted"] for _, body in answers) == 8
    assert sum(body["duplicates"] for _, body in answers) == 1
    assert [len(batch) for batch in gate.batches] == [1, 8]
    assert Event.objects.count() == 8
