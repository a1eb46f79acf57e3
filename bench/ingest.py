"""Ingest throughput against the raw COPY limit, in one run.

    make bench-ingest            # or: DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py

1. Starts gunicorn on 127.0.0.1 against an empty bench database, as deploy/ runs it:
   threaded workers, so that single callbacks arriving together share a commit
   (tracking/ingest/group_commit.py).
2. Sends pre-encoded OTLP protobuf exports of 512 spans (a stage span and two child calls per
   trace, as flows instrumented with the OpenTelemetry SDK send them) from several client
   threads, then batches of 100 events, then single events from many more clients (as many
   webhook senders at once), with their latency percentiles; the single events' ledger is
   checked exact.
3. After each path, copies out every row it wrote (spans, events, transactions), and times
   a plain ``COPY ... FROM STDIN`` of those rows into the same, emptied tables in one
   session: the physical limit of storing what that path stored. The OTLP path is also
   shown against a COPY of its spans alone, the stricter yardstick.
"""

import argparse
import http.client
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from google.protobuf.internal import api_implementation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from http_load import load  # noqa: E402

from c2c_ops import gc_tuning  # noqa: E402
from tests.tracking.factories import pb_export  # noqa: E402

STAGES = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
REGIONS = ["NA", "EMEA", "APAC"]


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")


def prepare_database(url: str, keep_data: bool = False) -> None:
    """Create the database if need be and migrate it; empty the ledger unless ``keep_data``
    (a bench measuring again on data it loaded before: the schema still follows the code)."""
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # Production serves static files collected; without them whitenoise warns per worker.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    if keep_data:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE tracking_span, tracking_event, tracking_transaction, tracking_deadletter, "
            "tracking_flowapikey RESTART IDENTITY CASCADE"
        )


def create_key(url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "bench-flow", "--scopes", "ingest"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


def span_exports(count: int, rng: random.Random) -> list[bytes]:
    """Bodies of 512 spans: per trace one stage span with c2c attributes and two children."""
    base = datetime.now(UTC) - timedelta(days=2)
    bodies, spans, txn = [], [], 0
    while len(spans) < count:
        txn += 1
        stage = rng.randrange(len(STAGES))
        trace = rng.getrandbits(128).to_bytes(16, "big").hex()
        root = rng.getrandbits(64).to_bytes(8, "big").hex()
        end = base + timedelta(seconds=txn)
        ns = int(end.timestamp() * 1e9)
        spans.append(
            {
                "trace_id": trace,
                "span_id": root,
                "name": STAGES[stage],
                "start": ns - 900_000_000,
                "end": ns,
                "status": 2 if rng.random() < 0.05 else 1,
                "attributes": {
                    "c2c.correlation_id": f"INV-BENCH-{txn:08d}",
                    "c2c.journey": "billing",
                    "c2c.stage": STAGES[stage],
                    "c2c.amount": f"{rng.uniform(100, 90000):.2f}",
                    "c2c.currency": "EUR",
                    "c2c.region": rng.choice(REGIONS),
                    "c2c.business_unit": "Advisory",
                    "c2c.customer": "Globex",
                },
            }
        )
        for child in range(2):
            spans.append(
                {
                    "trace_id": trace,
                    "span_id": rng.getrandbits(64).to_bytes(8, "big").hex(),
                    "parent": root,
                    "name": f"POST /api/{child}",
                    "start": ns - 800_000_000,
                    "end": ns - 100_000_000,
                    "attributes": {"http.request.method": "POST"},
                }
            )
    spans = spans[:count]
    for start in range(0, len(spans), 512):
        bodies.append(pb_export(spans[start : start + 512], {"service.name": "psa-to-billing"}))
    return bodies


def event_bodies(count: int, per_request: int, rng: random.Random, tag: str) -> list[bytes]:
    base = datetime.now(UTC) - timedelta(days=1)
    items = []
    for i in range(count):
        stage = i % 4
        items.append(
            {
                "event_id": f"{tag}-{i}",
                "correlation_id": f"INV-{tag}-{i // 4:08d}",
                "journey": "billing",
                "stage": STAGES[stage],
                "status": "succeeded",
                "occurred_at": (base + timedelta(seconds=i)).isoformat(),
                "amount": f"{rng.uniform(100, 90000):.2f}",
                "currency": "USD",
                "region": rng.choice(REGIONS),
                "business_unit": "Tax",
                "customer": "Initech",
            }
        )
    if per_request == 1:
        return [orjson.dumps(item) for item in items]
    return [orjson.dumps(items[s : s + per_request]) for s in range(0, len(items), per_request)]


# Every table ingest writes, in foreign-key order: the ledger, then what it tells others.
TABLES = (
    "tracking_transaction",
    "tracking_transactionstate",
    "tracking_event",
    "tracking_span",
    "tracking_statuschange",
    "tracking_changedtransaction",
)
EVENT_TABLES = tuple(t for t in TABLES if t != "tracking_span")


def snapshot(url: str, tables: tuple[str, ...]) -> dict[str, tuple[int, str, bytes]]:
    """The rows a path wrote, per table: (row count, column list, COPY text), ids included
    so that events still point at their transactions when copied back."""
    taken = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            columns = ", ".join(
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "ORDER BY ordinal_position",
                    [table],
                )
            )
            buffer = bytearray()
            # COPY (SELECT ...): the span table is partitioned, and COPY TO reads no parent.
            query = f"COPY (SELECT {columns} FROM {table}) TO STDOUT"
            with conn.cursor().copy(query) as copy:
                for chunk in copy:
                    buffer += chunk
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            taken[table] = (rows, columns, bytes(buffer))
    return taken


def empty(url: str) -> None:
    """Empty tables, and a checkpoint: each path starts with no earlier path's dirty pages
    left to flush under it (as raw_copy does before each timing)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        conn.execute("CHECKPOINT")


def raw_copy(url: str, taken: dict, tables: tuple[str, ...], repeats: int = 3) -> float:
    """Seconds for a plain COPY FROM STDIN of these tables' rows into the emptied tables,
    in one transaction and one session: the physical limit of storing the same rows.

    The median of ``repeats`` runs: one COPY lasts seconds, and a checkpoint or autovacuum
    landing in it would otherwise decide the ratio.
    """
    timings = []
    with psycopg.connect(url) as conn:
        for _ in range(repeats):
            conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
            conn.commit()
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            for table in tables:
                _, columns, buffer = taken[table]
                with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for at in range(0, len(buffer), 1 << 20):
                        copy.write(buffer[at : at + (1 << 20)])
            conn.commit()
            timings.append(time.perf_counter() - started)
    return sorted(timings)[len(timings) // 2]


def ledger_counts(url: str) -> tuple[int, int, int]:
    """Events, transactions and dead letters stored."""
    with psycopg.connect(url) as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("tracking_event", "tracking_transaction", "tracking_deadletter")
        )


def start_server(url: str, port: int, workers: int, threads: int = 1) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DEBUG": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "c2c_ops.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the app server did not start")


def line(label: str, rate: float, limit: float) -> None:
    print(f"{label:<58}{rate:>11,.0f}{rate / limit:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=150_000)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--single-events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=8, help="connections sending spans, batches")
    parser.add_argument(
        "--single-clients", type=int, default=32, help="connections sending single events"
    )
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()

    backend = api_implementation.Type()
    print(f"protobuf runtime: {backend}")
    if backend != "upb":
        raise SystemExit("the protobuf runtime is not upb: decoding would be ~15x slower")
    url = database_url()
    prepare_database(url)
    key = create_key(url)
    rng = random.Random(42)
    spans = span_exports(args.spans, rng)
    batches = event_bodies(args.events, 100, rng, "batch")
    singles = event_bodies(args.single_events, 1, rng, "single")

    server = start_server(url, args.port, args.workers, args.threads)
    protobuf, json = "application/x-protobuf", "application/json"
    try:
        # Warm-up: imports, connections, caches, and past the workers' second freeze of
        # what they hold (c2c_ops/gc_tuning.py): the steady state of a running server.
        warm = span_exports(2048, random.Random(1))
        load(args.port, "/v1/traces", warm, protobuf, key, args.clients)
        warm_events = event_bodies(gc_tuning.WARM_AFTER * args.workers, 1, rng, "warm")
        load(args.port, "/api/v1/events", warm_events, json, key, args.single_clients)
        empty(url)
        span_run = load(args.port, "/v1/traces", spans, protobuf, key, args.clients)
        span_rows = snapshot(url, TABLES)
        empty(url)
        batch_run = load(args.port, "/api/v1/events", batches, json, key, args.clients)
        batch_rows = snapshot(url, EVENT_TABLES)
        empty(url)
        # The web stack alone (gunicorn, middleware, no database), from the same clients:
        # the ceiling of any one-request-per-item path on this machine, in this run.
        probes = [b""] * args.single_events
        stack = load(args.port, "/healthz", probes, json, key, args.single_clients, "GET")
        single = load(args.port, "/api/v1/events", singles, json, key, args.single_clients)
        single_ledger = ledger_counts(url)
    finally:
        server.terminate()
        server.wait(timeout=30)

    stored = {table: rows for table, (rows, _, _) in span_rows.items()}
    print(
        f"/v1/traces stored {stored['tracking_span']} spans, {stored['tracking_event']} "
        f"events, {stored['tracking_transaction']} transactions; /api/v1/events x100 stored "
        f"{batch_rows['tracking_event'][0]} events, "
        f"{batch_rows['tracking_transaction'][0]} transactions"
    )
    if stored["tracking_span"] != args.spans:
        raise SystemExit(f"expected {args.spans} spans stored, found {stored['tracking_span']}")
    if batch_rows["tracking_event"][0] != args.events:
        raise SystemExit(f"expected {args.events} events stored")
    # Four stages per transaction (event_bodies): every event once, nothing set aside.
    expected = (args.single_events, -(-args.single_events // 4), 0)
    if single_ledger != expected:
        raise SystemExit(
            f"single events: expected (events, transactions, dead letters) {expected}, "
            f"found {single_ledger}"
        )

    # The physical limit of each path: COPY of every row it wrote, into the same tables.
    span_all = args.spans / raw_copy(url, span_rows, TABLES)
    span_only = args.spans / raw_copy(url, span_rows, ("tracking_span",))
    event_all = args.events / raw_copy(url, batch_rows, EVENT_TABLES)
    span_rate = args.spans / span_run.elapsed
    batch_rate = args.events / batch_run.elapsed
    single_rate = args.single_events / single.elapsed

    print()
    print(f"{'path (rows/s in spans or events)':<58}{'rows/s':>11}{'ratio':>10}")
    line("raw COPY of every row written (spans, events, txns...)", span_all, span_all)
    line("POST /v1/traces protobuf x512 (+ projection)", span_rate, span_all)
    line("  vs raw COPY of the spans alone into tracking_span", span_only, span_only)
    line("  POST /v1/traces against that", span_rate, span_only)
    line("raw COPY of every row written (events, txns...)", event_all, event_all)
    line("POST /api/v1/events x100 (+ projection)", batch_rate, event_all)
    line("POST /api/v1/events single (+ projection)", single_rate, event_all)
    stack_rate = args.single_events / stack.elapsed
    line("GET /healthz: the web stack alone, no database", stack_rate, stack_rate)
    line("  POST /api/v1/events single against that", single_rate, stack_rate)
    print()
    print(f"{'request latency (ms)':<58}{'p50':>11}{'p99':>10}")
    for label, run in (
        ("POST /v1/traces x512", span_run),
        ("POST /api/v1/events x100", batch_run),
        ("POST /api/v1/events single", single),
        ("GET /healthz", stack),
    ):
        print(f"{label:<58}{run.percentile(0.5):>11.1f}{run.percentile(0.99):>10.1f}")
    print()
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads; connections "
        f"{args.clients} (spans, batches), {args.single_clients} (single events); "
        f"{args.spans} spans, {args.events} batched + {args.single_events} single events; "
        f"single events' ledger exact ({single_ledger[0]} events, {single_ledger[1]} "
        f"transactions, no dead letter)"
    )


if __name__ == "__main__":
    main()
