"""Work goes to named queues, so each kind scales on its own; and with BEAT_SCHEDULER=redis
two beats can run (as on two machines) while only one sends the periodic tasks."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from c2c_ops.celery import app
from tests.server import ROOT

SENT = "Scheduler: Sending due task"


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("tracking.tasks.sweep_stuck", "ingest"),
        ("dashboards.tasks.refresh_rollups", "metrics"),
        ("dashboards.tasks.snapshot_risk", "metrics"),
        ("exceptions.tasks.intake_changes", "alerts"),
        ("exceptions.tasks.send_alerts", "alerts"),
        ("exceptions.tasks.send_replay", "replays"),
    ],
)
def test_each_task_goes_to_its_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_a_worker_without_q_takes_every_queue():
    assert {q.name for q in app.amqp.queues.values()} >= {
        "celery", "ingest", "metrics", "alerts", "replays",
    }  # fmt: skip


def test_every_periodic_job_routes_to_a_named_queue():
    for job in settings.CELERY_BEAT_SCHEDULE.values():
        assert app.amqp.router.route({}, job["task"])["queue"].name != "celery", job


def _redis_url() -> str:
    # A database of its own: the lock and the schedule must not meet another test's beat.
    base = settings.CELERY_BROKER_URL.rsplit("/", 1)[0]
    return f"{base}/7"


class Beat:
    def __init__(self, name: str, folder: Path) -> None:
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Beat":
        env = {
            **os.environ,
            "CELERY_BROKER_URL": _redis_url(),
            "BEAT_SCHEDULER": "redis",
            "BEAT_LOCK_TIMEOUT_SECONDS": "5",
            "METRICS_INTERVAL_SECONDS": "1",
        }
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "c2c_ops", "beat", "--loglevel", "info"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def sent(self) -> int:
        return self.log.read_text(errors="replace").count(SENT)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)


def _until(check, seconds: float, what: str, *beats: Beat) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    logs = "\n".join(b.log.read_text(errors="replace")[-2000:] for b in beats)
    raise AssertionError(f"gave up waiting for {what}:\n{logs}")


@pytest.mark.live
def test_a_second_beat_waits_then_takes_over_when_the_first_dies(tmp_path):
    redis.Redis.from_url(_redis_url()).flushdb()
    first, second = Beat("first", tmp_path), Beat("second", tmp_path)
    try:
        first.start()
        _until(lambda: first.sent() >= 2, 60, "the first beat to send", first)
        second.start()
        time.sleep(4)  # a few ticks: the second beat sees the lock and sends nothing
        assert second.sent() == 0
        assert first.sent() >= 4
        # Killed, the first cannot release the lock: it lapses after its 5 s timeout. (A
        # stopped beat releases it at once, the easier case.)
        first.stop(signal.SIGKILL)
        _until(lambda: second.sent() >= 2, 30, "the second beat to take over", first, second)
    finally:
        first.stop(signal.SIGKILL)
        second.stop(signal.SIGKILL)
