"""Replays against a real HTTP receiver on 127.0.0.1 that checks signature and key."""

import threading

import kombu.pools
import pytest
from django.db import connection
from django.test import override_settings

from audit.models import AuditEntry
from exceptions import intake, replay
from exceptions.actors import Actor, NotAllowed
from exceptions.inputs import Conflict
from exceptions.models import Replay, ReplayStatus
from exceptions.tasks import send_replay

from ..dashboards.helpers import report
from ..receiver import Receiver
from .helpers import billing, failed_case

pytestmark = pytest.mark.django_db
SECRET = "flow-secret-for-tests"


@pytest.fixture
def receiver(flow):
    with Receiver(SECRET) as rx:
        flow.replay_url, flow.replay_secret = rx.url, SECRET
        flow.save()
        yield rx


def _requested(ingest_client, operator, cid="SOW-1", amount="1200.00") -> Replay:
    case = failed_case(ingest_client, cid, amount=amount)
    made = replay.request(Actor.of(operator), case.pk, "ERP is back up")
    assert made.status == ReplayStatus.REQUESTED
    return made


def test_a_replay_is_posted_once_signed_with_its_idempotency_key(ingest_client, operator, receiver):
    made = _requested(ingest_client, operator)
    assert replay.send(made.pk).outcome == "sent"

    (got,) = receiver.requests
    assert got["signature_ok"] and got["key_ok"]
    assert got["body"] == {
        "replay_id": str(made.pk),
        "correlation_id": "SOW-1",
        "journey": "billing",
        "stage": "invoice_generated",
        "reason": "ERP is back up",
        "requested_by": "omar-operator",
        "requested_at": got["body"]["requested_at"],
        "replay_of_event_id": made.case.event_id,
    }
    made.refresh_from_db()
    assert made.status == ReplayStatus.SENT and made.response_status == 200


def test_running_the_task_twice_posts_once(ingest_client, operator, receiver):
    made = _requested(ingest_client, operator)
    send_replay.run(str(made.pk))
    send_replay.run(str(made.pk))
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_post_once(ingest_client, operator, flow):
    with Receiver(SECRET, delay=0.5) as rx:
        flow.replay_url, flow.replay_secret = rx.url, SECRET
        flow.save()
        made = _requested(ingest_client, operator)
        outcomes = []

        def worker() -> None:
            try:
                outcomes.append(replay.send(made.pk).outcome)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(rx.requests) == 1
        assert sorted(outcomes) == ["another worker is sending it", "sent"]


@override_settings(REPLAY_RETRY_SECONDS=0)
def test_a_503_is_retried_with_the_same_key_until_it_goes_through(ingest_client, operator, flow):
    with Receiver(SECRET, statuses=[503, 503]) as rx:
        flow.replay_url, flow.replay_secret = rx.url, SECRET
        flow.save()
        made = _requested(ingest_client, operator)
        outcomes = [replay.send(made.pk).outcome for _ in range(3)]

    assert outcomes == ["retry", "retry", "sent"]
    assert len(rx.requests) == 3
    assert {r["idempotency_key"] for r in rx.requests} == {str(made.pk)}
    made.refresh_from_db()
    assert (made.status, made.attempts) == (ReplayStatus.SENT, 3)


def test_a_400_is_not_retried(ingest_client, operator, flow):
    with Receiver(SECRET, statuses=[400]) as rx:
        flow.replay_url, flow.replay_secret = rx.url, SECRET
        flow.save()
        made = _requested(ingest_client, operator)
        first = replay.send(made.pk)
        second = replay.send(made.pk)

    assert (first.outcome, second.outcome) == ("failed", "nothing to send")
    assert len(rx.requests) == 1
    made.refresh_from_db()
    assert made.status == ReplayStatus.FAILED and "HTTP 400" in made.last_error


@override_settings(REPLAY_RETRY_SECONDS=0, REPLAY_MAX_ATTEMPTS=2)
def test_it_gives_up_after_the_last_attempt(ingest_client, operator, flow):
    with Receiver(SECRET, statuses=[503, 503, 503]) as rx:
        flow.replay_url, flow.replay_secret = rx.url, SECRET
        flow.save()
        made = _requested(ingest_client, operator)
        assert [replay.send(made.pk).outcome for _ in range(3)] == [
            "retry",
            "failed",
            "nothing to send",
        ]
        assert len(rx.requests) == 2


def test_success_reported_by_the_flow_settles_the_replay(ingest_client, operator, receiver):
    made = _requested(ingest_client, operator)
    replay.send(made.pk)
    report(ingest_client, billing("SOW-1", "invoice_generated", "succeeded", 5, event_id="ok-1"))
    intake.consume()

    made.refresh_from_db()
    assert made.status == ReplayStatus.SUCCEEDED and made.result_event_id == "ok-1"
    assert made.case.status == "resolved"


def test_refused_when_the_stage_already_succeeded(ingest_client, operator, receiver):
    case = failed_case(ingest_client, "SOW-1")
    # The success arrives but intake has not run yet: the replay still checks the ledger.
    report(ingest_client, billing("SOW-1", "invoice_generated", "succeeded", 5))
    with pytest.raises(Conflict, match="already succeeded"):
        replay.request(Actor.of(operator), case.pk, "try again")
    assert receiver.requests == []


def test_refused_while_another_replay_of_the_stage_is_pending(ingest_client, operator, receiver):
    made = _requested(ingest_client, operator)
    with pytest.raises(Conflict, match="still pending"):
        replay.request(Actor.of(operator), made.case_id, "again")


@override_settings(REPLAY_APPROVAL_THRESHOLD=1000)
def test_four_eyes_above_the_threshold(ingest_client, operator, receiver, admin_user):
    case = failed_case(ingest_client, "SOW-BIG", amount="50000.00")
    made = replay.request(Actor.of(operator), case.pk, "ERP is back")
    assert made.status == ReplayStatus.AWAITING_APPROVAL
    assert replay.send(made.pk).outcome == "nothing to send"

    with pytest.raises(NotAllowed, match="second operator"):
        replay.approve(Actor.of(operator), made.pk)
    approved = replay.approve(Actor.of(admin_user), made.pk)
    assert approved.status == ReplayStatus.REQUESTED
    assert replay.send(made.pk).outcome == "sent"
    assert len(receiver.valid) == 1
    actions = AuditEntry.objects.filter(object_id=str(made.pk)).values_list("action", "actor_name")
    assert list(actions) == [
        ("replay_requested", "omar-operator"),
        ("replay_approved", "ada-admin"),
        ("replay_sent", "system"),
    ]


@override_settings(REPLAY_APPROVAL_THRESHOLD=1000)
def test_a_rejected_replay_is_never_sent(ingest_client, operator, receiver, admin_user):
    case = failed_case(ingest_client, "SOW-BIG", amount="50000.00")
    made = replay.request(Actor.of(operator), case.pk, "ERP is back")
    replay.reject(Actor.of(admin_user), made.pk, "wrong invoice run")
    assert replay.send(made.pk).outcome == "nothing to send"
    assert receiver.requests == []


def test_bulk_dry_run_says_what_would_run_and_what_not(ingest_client, operator, receiver):
    ok = failed_case(ingest_client, "SOW-1")
    done = failed_case(ingest_client, "SOW-2")
    report(ingest_client, billing("SOW-2", "invoice_generated", "succeeded", 5))

    verdicts = {v.case.pk: v for v in replay.preview([ok.pk, done.pk])}
    assert verdicts[ok.pk].allowed
    assert verdicts[done.pk].refusal == "the stage has already succeeded since the failure"
    assert Replay.objects.count() == 0  # a preview changes nothing


@override_settings(REPLAY_RATE_PER_MINUTE=2)
def test_sends_to_one_flow_are_rate_limited(ingest_client, operator, receiver):
    made = [_requested(ingest_client, operator, f"SOW-{n}") for n in range(3)]
    outcomes = [replay.send(r.pk) for r in made]
    assert [o.outcome for o in outcomes] == ["sent", "sent", "rate limited"]
    assert 0 < outcomes[2].retry_in <= 60
    assert len(receiver.requests) == 2


def use_broker(app, url: str) -> None:
    """Point Celery at another broker: its connection and producer pools are rebuilt."""
    app.conf.update(broker_url=url, task_publish_retry=False, broker_connection_timeout=1)
    kombu.pools.reset()  # kombu keeps pools per connection in a registry of its own
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_a_replay_asked_for_while_the_broker_is_down_is_kept_and_sent_later(
    ingest_client, operator, receiver
):
    from c2c_ops.celery import app
    from exceptions.tasks import housekeeping
    from tests.conftest import session_client

    case = failed_case(ingest_client, "SOW-DOWN")
    real = app.conf.broker_url
    # A broker nothing listens on: publishing fails at once, as with Redis stopped.
    use_broker(app, "redis://127.0.0.1:9/0")
    try:
        response = session_client(operator).post(
            f"/api/v1/exceptions/{case.pk}/replay", {"reason": "ERP is back"}, format="json"
        )
    finally:
        use_broker(app, real)
    assert response.status_code == 202
    made = Replay.objects.get(case=case)
    assert made.status == ReplayStatus.REQUESTED and not receiver.requests
    # Beat's housekeeping finds it with no message to announce it (eager here: one process).
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        app.conf.task_always_eager = True
        try:
            housekeeping.run()
        finally:
            app.conf.task_always_eager = False
    assert len(receiver.requests) == 1
