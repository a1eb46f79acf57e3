"""Real workers on Redis: a worker killed while sending a replay loses nothing, and what it
may already have sent goes again only under the same idempotency key.

A killed worker's claim on a replay lapses after three times REPLAY_TIMEOUT_SECONDS; the
beat's housekeeping then hands the replay to a live worker. Celery itself would redeliver
the unacknowledged message only after Redis' visibility timeout (an hour), so these tests
show that recovery does not wait for it.
"""

import pytest

from audit.models import AuditEntry
from exceptions import replay
from exceptions.actors import Actor
from exceptions.models import Replay, ReplayStatus
from tests.worker import TableLock, backend_gone, wait_for

from ..receiver import Receiver
from .helpers import failed_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
SECRET = "crash-test-secret"
FAST = {"REPLAY_TIMEOUT_SECONDS": "3", "EXCEPTIONS_INTERVAL_SECONDS": "1"}


def requested(ingest_client, operator, flow, receiver: Receiver) -> Replay:
    flow.replay_url, flow.replay_secret = receiver.url, SECRET
    flow.save()
    case = failed_case(ingest_client, "SOW-CRASH", amount="800.00")
    # Enqueued on commit to Redis; no worker is running yet.
    return replay.request(Actor.of(operator), case.pk, "ERP is back up")


def settled(made: Replay) -> bool:
    return Replay.objects.get(pk=made.pk).status == ReplayStatus.SENT


def test_a_worker_killed_mid_post_is_resent_under_the_same_key(
    ingest_client, operator, flow, workers
):
    # The flow holds the first POST open, as a slow ERP would; the worker dies waiting.
    with Receiver(SECRET, delays=[60]) as rx:
        made = requested(ingest_client, operator, flow, rx)
        doomed = workers("doomed", **FAST).start()
        wait_for(lambda: rx.arrived, "the replay's POST to reach the flow", 60, doomed)
        doomed.kill()

        stranded = Replay.objects.get(pk=made.pk)
        assert stranded.status == ReplayStatus.REQUESTED and stranded.attempts == 1
        assert stranded.claimed_until is not None  # the dead worker's claim, not yet lapsed

        rescuer = workers("rescuer", beat=True, **FAST).start()
        wait_for(lambda: settled(made), "the replay to be sent again", 60, rescuer)

    key = str(made.pk)
    # Two POSTs reached the flow, both with the replay's own key: the flow applies it once.
    assert rx.arrived == [key, key]
    (answered,) = rx.requests  # the held one was never answered
    assert answered["signature_ok"] and answered["key_ok"]
    made.refresh_from_db()
    assert made.attempts == 2 and made.response_status == 200
    assert AuditEntry.objects.filter(action="replay_sent", object_id=key).count() == 1


def test_a_worker_killed_before_posting_loses_no_replay_and_posts_once(
    ingest_client, operator, flow, workers
):
    with Receiver(SECRET) as rx:
        made = requested(ingest_client, operator, flow, rx)
        # The worker blocks on claiming the replay row; killed there, its claim never commits.
        with TableLock(Replay._meta.db_table) as lock:
            doomed = workers("doomed", **FAST).start()
            pid = wait_for(lock.waiting, "the worker to wait on its claim", 60, doomed)
            doomed.kill()
        wait_for(lambda: backend_gone(pid), "the killed worker's session to end", 30)
        assert Replay.objects.get(pk=made.pk).attempts == 0

        rescuer = workers("rescuer", beat=True, **FAST).start()
        wait_for(lambda: settled(made), "the replay to be sent", 60, rescuer)

    assert rx.arrived == [str(made.pk)]
    assert len(rx.valid) == 1
