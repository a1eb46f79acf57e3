"""Run real Celery workers (optionally with beat) in subprocesses, against the test database.

The tests that use them kill workers with SIGKILL mid-task, so each worker runs in its own
process group and logs to a file the test can show when something goes wrong.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection

from tests.server import ROOT


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def conninfo() -> str:
    return database_url().replace("postgres://", "postgresql://", 1)


def broker_url() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        raise RuntimeError(f"these tests need a Redis broker (CELERY_BROKER_URL), not {url!r}")
    return url


def queued() -> int:
    """Messages waiting in every queue the workers take (tasks are routed to named ones)."""
    import redis

    broker = redis.Redis.from_url(broker_url())
    return sum(broker.llen(queue.name) for queue in settings.CELERY_TASK_QUEUES)


class Worker:
    def __init__(
        self, name: str, folder: Path, beat: bool = False, interval: int = 1, **env: str
    ) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "c2c_ops",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "info",
            "--without-gossip",
            "--without-mingle",
        ]
        if beat:
            self.command += ["--beat", "--schedule", str(folder / f"{name}-beat")]
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url(),
            "METRICS_INTERVAL_SECONDS": str(interval),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: the worker dies where it stands, as in a power cut or an OOM kill."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def wait_for(check: Callable[[], object], what: str, timeout: float = 60, *workers: Worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for worker in workers:
            if worker.process and worker.process.poll() is not None:
                raise AssertionError(f"{worker.name} exited early:\n{worker.output()}")
        time.sleep(0.1)
    logs = "\n".join(f"--- {w.name}\n{w.output()}" for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


class TableLock:
    """Hold a lock on a table from a separate connection, so a writer blocks mid-task."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.conn = psycopg.connect(conninfo())

    def __enter__(self) -> "TableLock":
        # EXCLUSIVE lets readers through but stops every INSERT, UPDATE and DELETE.
        self.conn.execute(f'LOCK TABLE "{self.table}" IN EXCLUSIVE MODE')
        return self

    def waiting(self) -> int | None:
        """The backend of another session blocked on this table, if any."""
        with psycopg.connect(conninfo(), autocommit=True) as probe:
            row = probe.execute(
                "SELECT pid FROM pg_locks WHERE relation = %s::regclass AND NOT granted LIMIT 1",
                [self.table],
            ).fetchone()
        return row[0] if row else None

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __exit__(self, *exc: object) -> None:
        self.release()


def backend_gone(pid: int) -> bool:
    with psycopg.connect(conninfo(), autocommit=True) as probe:
        row = probe.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is None
