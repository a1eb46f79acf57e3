"""Faults under a bounded ingest load: nothing that got a 2xx is lost, nothing is doubled.

    make bench-faults       # or: .venv/bin/python bench/faults.py [--batches 600]

Runs, on this machine only (127.0.0.1), against a database of its own:

1. gunicorn (2 workers x 2 threads) and a Celery worker with beat, as deployed.
2. Client threads that send status callbacks in batches of 25 (two events per
   transaction: work approved, then invoice generated, 1 in 10 failed), each batch retried
   on a 5xx or a broken connection until it gets a 2xx, honouring Retry-After.
3. While they send: PostgreSQL restarted, a gunicorn worker killed with SIGKILL, Redis
   restarted, the Celery worker killed with SIGKILL (and started again, as its supervisor
   would).
4. Afterwards, once the workers have drained the outbox: every event of every batch that
   got a 2xx is in the ledger exactly once, every transaction once, one exception case per
   failed transaction, and the rollups count each transaction once.

It restarts this machine's PostgreSQL cluster and Redis server: run it where nothing else
uses them. Prints the counts (sent, 2xx, retried, in the ledger) and exits 1 on a mismatch.
"""

import argparse
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from ingest import create_key  # noqa: E402

DATABASE = "postgres://postgres@127.0.0.1:5432/c2c_ops_faults"
BROKER = "redis://127.0.0.1:6379/12"
PER_BATCH = 25
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def prepare(url: str) -> str:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    return create_key(url)


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


@dataclass
class Tally:
    batches_sent: int = 0
    events_sent: int = 0
    batches_2xx_first_try: int = 0
    batches_retried: int = 0
    retries: int = 0
    answers_5xx: int = 0
    broken_connections: int = 0
    gave_up: int = 0
    accepted: int = 0
    duplicates: int = 0
    item_errors: int = 0
    acked: set[str] = field(default_factory=set)
    failed_transactions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def batches(count: int, rng: random.Random) -> list[tuple[list[dict], set[str]]]:
    """Batches of two events per transaction; the correlation IDs whose invoice failed."""
    base = datetime.now(UTC) - timedelta(hours=2)
    out = []
    for b in range(count):
        items, failed = [], set()
        for t in range(PER_BATCH // 2 + PER_BATCH % 2):
            cid = f"FLT-{b:05d}-{t:02d}"
            moment = base + timedelta(seconds=b)
            items.append(
                {
                    "event_id": f"{cid}-a",
                    "correlation_id": cid,
                    "journey": "billing",
                    "stage": "work_approved",
                    "status": "succeeded",
                    "occurred_at": moment.isoformat(),
                    "amount": f"{rng.uniform(100, 9000):.2f}",
                    "currency": "USD",
                    "region": rng.choice(["NA", "EMEA", "APAC"]),
                }
            )
            if len(items) == PER_BATCH:
                break
            fails = rng.random() < 0.1
            if fails:
                failed.add(cid)
            items.append(
                {
                    "event_id": f"{cid}-b",
                    "correlation_id": cid,
                    "stage": "invoice_generated",
                    "status": "failed" if fails else "succeeded",
                    "occurred_at": (moment + timedelta(minutes=5)).isoformat(),
                    "error": {"code": "ERP-503"} if fails else {},
                }
            )
        out.append((items, failed))
    return out


def send_all(port: int, key: str, work: list, clients: int, tally: Tally) -> None:
    queue = iter(range(len(work)))
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            items, failed = work[index]
            body = orjson.dumps(items)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            attempts = 0
            while True:
                attempts += 1
                wait = 0.2
                try:
                    conn.request("POST", "/api/v1/events", body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    if response.status == 202:
                        reply = orjson.loads(data)
                        break
                    with tally.lock:
                        tally.answers_5xx += response.status >= 500
                    if response.status < 500:
                        raise SystemExit(f"HTTP {response.status}: {data[:200]!r}")
                    wait = min(float(response.getheader("Retry-After") or 1), 0.5)
                except (OSError, http.client.HTTPException):
                    with tally.lock:
                        tally.broken_connections += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if attempts >= 400:
                    with tally.lock:
                        tally.gave_up += 1
                    reply = None
                    break
                time.sleep(wait * random.uniform(0.5, 1.5))
            with tally.lock:
                tally.batches_sent += 1
                tally.events_sent += len(items)
                if attempts == 1:
                    tally.batches_2xx_first_try += 1
                else:
                    tally.batches_retried += 1
                    tally.retries += attempts - 1
                if reply is not None:
                    tally.accepted += reply["accepted"]
                    tally.duplicates += reply["duplicates"]
                    tally.item_errors += len(reply["errors"])
                    tally.acked.update(item["event_id"] for item in items)
                    tally.failed_transactions |= failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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


def drained(url: str) -> bool:
    with psycopg.connect(url) as conn:
        pending = conn.execute(
            "SELECT (SELECT count(*) FROM tracking_statuschange WHERE processed IS NULL)"
            " + (SELECT count(*) FROM tracking_changedtransaction WHERE due_at <= now())"
        ).fetchone()[0]
    return pending == 0


def rollup_started(url: str) -> int:
    code = (
        "from datetime import timedelta; from django.utils import timezone;"
        "from dashboards.queries import totals; now = timezone.now();"
        "print(totals(now - timedelta(days=2), now + timedelta(hours=1), {})"
        ".get('started', [0])[0])"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment(url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def check(url: str, tally: Tally, transactions: int) -> list[tuple[str, int, int]]:
    with psycopg.connect(url) as conn:
        stored = {row[0] for row in conn.execute("SELECT event_id FROM tracking_event")}
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT flow_id, event_id FROM tracking_event"
            " GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
        txns = conn.execute("SELECT count(*) FROM tracking_transaction").fetchone()[0]
        cases = conn.execute(
            "SELECT count(*), count(DISTINCT (transaction_id, stage_id))"
            " FROM c2c_exceptions_exceptioncase"
        ).fetchone()
    return [
        (
            "events acknowledged (2xx) and in the ledger",
            len(tally.acked),
            len(stored & tally.acked),
        ),
        ("events in the ledger that no 2xx acknowledged", 0, len(stored - tally.acked)),
        ("events stored twice", 0, doubled),
        ("transactions", transactions, txns),
        ("exception cases (one per failed transaction)", len(tally.failed_transactions), cases[0]),
        ("cases for the same stage twice", 0, cases[0] - cases[1]),
        ("transactions counted by the rollups", transactions, rollup_started(url)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--spacing", type=float, default=4.0, help="seconds between faults")
    args = parser.parse_args()
    url = os.environ.get("FAULTS_DATABASE_URL", DATABASE)
    folder = ROOT / "var" / "bench-faults"
    folder.mkdir(parents=True, exist_ok=True)
    if not redis_up():
        raise SystemExit("Redis is not answering on 127.0.0.1:6379")
    key = prepare(url)
    subprocess.run(["redis-cli", "-n", BROKER.rsplit("/", 1)[1], "flushdb"], capture_output=True)
    processes = Processes(url, folder)
    report: list[str] = []
    tally = Tally()
    work = batches(args.batches, random.Random(7))
    transactions = len({item["correlation_id"] for items, _ in work for item in items})
    try:
        processes.start_web()
        processes.start_worker()
        log(f"sending {args.batches} batches of {PER_BATCH} events from {args.clients} clients")
        faults = threading.Thread(target=inject, args=(processes, url, args.spacing, report))
        faults.start()
        started = time.monotonic()
        send_all(processes.port, key, work, args.clients, tally)
        elapsed = time.monotonic() - started
        faults.join()
        log(f"load done in {elapsed:.1f} s; waiting for the workers to drain the outbox")
        deadline = time.monotonic() + 180
        while not drained(url):
            if time.monotonic() > deadline:
                raise SystemExit("the outbox did not drain within 3 minutes; see var/bench-faults")
            time.sleep(1)
        time.sleep(5)  # one more intake and refresh after the last change
        results = check(url, tally, transactions)
    finally:
        processes.stop()

    print()
    print("Faults, in order:")
    for line in report:
        print(f"  - {line}")
    print()
    print(f"{'client side':<56} {'count':>8}")
    for name, value in (
        ("batches sent (each until it got a 2xx)", tally.batches_sent),
        ("events sent", tally.events_sent),
        ("batches answered 2xx at the first try", tally.batches_2xx_first_try),
        ("batches retried", tally.batches_retried),
        ("retries in all", tally.retries),
        ("5xx answers (503 + Retry-After)", tally.answers_5xx),
        ("broken connections (worker killed, server down)", tally.broken_connections),
        ("batches given up after 400 attempts", tally.gave_up),
        ("events accepted, as the answers said", tally.accepted),
        ("events answered duplicate (a retry of a batch stored)", tally.duplicates),
        ("item errors", tally.item_errors),
    ):
        print(f"{name:<56} {value:>8}")
    print()
    print(f"{'ledger side':<56} {'expected':>8} {'found':>8}")
    ok = tally.gave_up == 0 and tally.item_errors == 0
    for name, expected, found in results:
        print(f"{name:<56} {expected:>8} {found:>8}")
        ok = ok and expected == found
    print()
    print("exact: every acknowledged event once, nothing doubled" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
