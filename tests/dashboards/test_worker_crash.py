"""Real workers with beat on Redis: a worker killed mid-task loses nothing and counts nothing twice.

To catch a worker mid-task, the test holds a lock on a table the task writes to part-way
through; once PostgreSQL shows the worker's session waiting on it, the worker is killed with
SIGKILL. Its transaction never commits. Fresh workers (two of them, with extra runs of each
task queued by hand, so tasks overlap and repeat) must then reach exactly the right figures.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.models import PendingRollup, Rollup
from dashboards.queries import totals
from dashboards.tasks import refresh_rollups
from tests.dashboards.helpers import report, step
from tests.worker import TableLock, Worker, backend_gone, queued, wait_for
from tracking.models import ChangedTransaction, StatusChange, Transaction
from tracking.tasks import sweep_stuck

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
COUNT = 40
THREE_DAYS_AGO = timezone.now() - timedelta(days=3)


def figures() -> dict[str, list]:
    now = timezone.now()
    return totals(now - timedelta(days=30), now + timedelta(days=1), {})


def due_in_feed() -> bool:
    # Entries due later (pending SLA deadlines) stay: the refresh comes back for them then.
    return ChangedTransaction.objects.filter(due_at__lte=timezone.now()).exists()


def kill_mid_task(worker: Worker, table: str) -> None:
    """Start ``worker`` with ``table`` locked; kill it once its task waits on the lock."""
    with TableLock(table) as lock:
        worker.start()
        pid = wait_for(lock.waiting, f"a task waiting on {table}", 60, worker)
        worker.kill()
    # Released: the orphaned session runs into its closed socket and rolls back.
    wait_for(lambda: backend_gone(pid), "the killed worker's session to end", 30)


def recover(make) -> None:
    """Two fresh workers, one with beat, and every task queued twice more by hand."""
    make("beat", beat=True).start()
    make("spare").start()
    for _ in range(2):
        sweep_stuck.delay()
        refresh_rollups.delay()


def test_a_sweep_killed_mid_batch_loses_no_status_change(ingest_client, workers):
    report(
        ingest_client,
        *(
            step(f"LATE-{n}", "work_approved", THREE_DAYS_AGO, amount="100.00", currency="USD")
            for n in range(COUNT)
        ),
    )
    # Due two days after approval: all late, none marked yet.
    assert Transaction.objects.filter(state__status="in_progress").count() == COUNT

    kill_mid_task(workers("doomed", beat=True), "tracking_statuschange")
    assert Transaction.objects.filter(state__status="stuck").count() == 0
    assert not StatusChange.objects.filter(cause="sweep").exists()

    recover(workers)
    wait_for(
        lambda: figures().get("stuck", [0])[0] == COUNT and not due_in_feed(),
        "every late transaction counted stuck",
    )
    wait_for(lambda: not queued(), "the queues to drain")
    changes = StatusChange.objects.filter(cause="sweep")
    assert changes.count() == COUNT
    assert changes.values("transaction").distinct().count() == COUNT
    assert Transaction.objects.filter(state__status="stuck").count() == COUNT
    assert figures()["stuck"] == [COUNT, 100 * COUNT]


def report_completed(ingest_client) -> None:
    stages = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
    report(
        ingest_client,
        *(
            step(
                f"DONE-{n}",
                stage,
                THREE_DAYS_AGO + timedelta(hours=index),
                amount="250.00",
                currency="USD",
            )
            for n in range(COUNT)
            for index, stage in enumerate(stages)
        ),
    )
    assert ChangedTransaction.objects.count() == COUNT


def assert_counted_once() -> None:
    got = figures()
    assert got["started"] == [COUNT, 250 * COUNT]
    assert got["completed"] == [COUNT, 250 * COUNT]
    assert got["ev_ok"][0] == 4 * COUNT


def test_a_refresh_killed_mid_chunk_counts_nothing_twice(ingest_client, workers):
    report_completed(ingest_client)

    kill_mid_task(workers("doomed", beat=True), "dashboards_pendingrollup")
    # The claim rolled back with the rest: every transaction is still waiting in the feed.
    assert ChangedTransaction.objects.count() == COUNT
    assert figures() == {}

    recover(workers)
    wait_for(lambda: not due_in_feed(), "the change feed to empty")
    wait_for(lambda: not PendingRollup.objects.exists(), "the pending rollups to be folded")
    wait_for(lambda: not queued(), "the queues to drain")
    assert_counted_once()


def test_a_fold_killed_mid_batch_counts_nothing_twice(ingest_client, workers):
    report_completed(ingest_client)

    kill_mid_task(workers("doomed", beat=True), "dashboards_rollup")
    # The refresh committed before the fold began: its figures show, from the pending rows.
    assert not due_in_feed()
    assert PendingRollup.objects.exists()
    assert not Rollup.objects.exists()
    assert_counted_once()

    recover(workers)
    wait_for(lambda: not PendingRollup.objects.exists(), "the pending rollups to be folded")
    wait_for(lambda: not queued(), "the queues to drain")
    assert Rollup.objects.filter(measure="started").exists()
    assert_counted_once()
