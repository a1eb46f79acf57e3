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
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from fault_injection import BROKER, Processes, environment, inject, log, redis_up  # noqa: E402
from fault_load import PER_BATCH, Tally, batches, send_all  # noqa: E402
from ingest import create_key  # noqa: E402

DATABASE = "postgres://postgres@127.0.0.1:5432/c2c_ops_faults"


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
