"""The faults of bench/faults.py: the app's processes, as deployed, and what is done to
them under load (PostgreSQL and Redis restarted, a gunicorn and a Celery worker killed)."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/12"
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER,
        "DB_CONN_MAX_AGE": "60",
        "DB_CONNECT_TIMEOUT": "2",
        "METRICS_INTERVAL_SECONDS": "2",
        "EXCEPTIONS_INTERVAL_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }


class Processes:
    """The app's processes, each in a process group of its own so a kill reaches only it."""

    def __init__(self, url: str, folder: Path) -> None:
        self.env = environment(url)
        self.folder = folder
        self.port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.workers_started = 0

    def start_web(self) -> None:
        out = open(self.folder / "gunicorn.log", "ab")  # noqa: SIM115
        self.web = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "c2c_ops.wsgi",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "2",
                "--timeout", "60", "--graceful-timeout", "5",
            ],
            cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start; see gunicorn.log")

    def start_worker(self) -> None:
        self.workers_started += 1
        out = open(self.folder / f"celery-{self.workers_started}.log", "ab")  # noqa: SIM115
        self.worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "c2c_ops", "worker", "--beat",
                "--pool", "solo", "--loglevel", "warning", "--without-gossip",
                "--without-mingle",
                "--schedule", str(self.folder / f"beat-{self.workers_started}"),
            ],
            cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip

    def web_workers(self) -> list[int]:
        assert self.web is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.web.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def outage(probe_url: str, started: float) -> float:
    """Seconds from ``started`` until the database answers again."""
    while True:
        try:
            with psycopg.connect(probe_url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
                return time.monotonic() - started
        except psycopg.OperationalError:
            time.sleep(0.1)


def redis_up() -> bool:
    return (
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode
        == 0
    )


def inject(processes: Processes, url: str, spacing: float, report: list[str]) -> None:
    cluster = sorted(os.listdir("/etc/postgresql"))[0]
    time.sleep(spacing)
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )
    report.append(f"PostgreSQL restarted: back after {outage(url, started):.1f} s")
    log(report[-1])

    time.sleep(spacing)
    victim = processes.web_workers()[0]
    os.kill(victim, signal.SIGKILL)
    report.append(f"gunicorn worker {victim} killed with SIGKILL (the master starts another)")
    log(report[-1])

    time.sleep(spacing)
    started = time.monotonic()
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], capture_output=True)
    time.sleep(1)
    subprocess.run(REDIS_START, check=True, capture_output=True)
    while not redis_up():
        time.sleep(0.1)
    report.append(f"Redis restarted (empty): back after {time.monotonic() - started:.1f} s")
    log(report[-1])

    time.sleep(spacing)
    assert processes.worker is not None
    os.killpg(processes.worker.pid, signal.SIGKILL)
    processes.worker.wait()
    report.append("Celery worker (with beat) killed with SIGKILL; a new one started")
    log(report[-1])
    processes.start_worker()
