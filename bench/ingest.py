"""Ingest throughput against the raw COPY limit, in one run.

    make bench-ingest            # or: DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py

1. Starts gunicorn on 127.0.0.1 against an empty bench database.
2. Sends pre-encoded OTLP protobuf exports of 512 spans (a stage span and two child calls per
   trace, as flows instrumented with the OpenTelemetry SDK send them) from several client
   threads, then batches of 100 events, then single events.
3. Copies the rows that ingest wrote out of each table, empties it, and times a plain
   ``COPY ... FROM STDIN`` of the same rows into the same table: the physical limit.
"""

import argparse
import http.client
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from google.protobuf.internal import api_implementation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.tracking.factories import pb_export  # noqa: E402

STAGES = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
REGIONS = ["NA", "EMEA", "APAC"]


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")


def prepare_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
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


def load(
    port: int, path: str, bodies: list[bytes], content_type: str, key: str, clients: int
) -> float:
    """Send every body once from ``clients`` threads; returns the elapsed seconds."""
    cursor = iter(range(len(bodies)))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            headers = {"Content-Type": content_type, "Authorization": f"Bearer {key}"}
            conn.request("POST", path, bodies[index], headers)
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 202):
                failures.append(f"{response.status}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return elapsed


def raw_copy(url: str, table: str, repeats: int = 3) -> tuple[int, float]:
    """Rows/s of COPY FROM STDIN of the table's current rows into the emptied table.

    The median of ``repeats`` runs: one COPY lasts seconds, and a checkpoint or autovacuum
    landing in it would otherwise decide the ratio.
    """
    with psycopg.connect(url) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND column_name <> 'id' ORDER BY ordinal_position",
                [table],
            )
        ]
        names = ", ".join(columns)
        buffer = bytearray()
        with conn.cursor().copy(f"COPY {table} ({names}) TO STDOUT") as copy:
            for chunk in copy:
                buffer += chunk
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        timings = []
        for _ in range(repeats):
            conn.execute(f"TRUNCATE {table} CASCADE")
            conn.commit()
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for start in range(0, len(buffer), 1 << 20):
                    copy.write(bytes(buffer[start : start + (1 << 20)]))
            conn.commit()
            timings.append(time.perf_counter() - started)
        return rows, sorted(timings)[len(timings) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=150_000)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--single-events", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
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

    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DEBUG": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "c2c_ops.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        # Warm-up: imports, connections, caches.
        load(
            args.port,
            "/v1/traces",
            span_exports(2048, random.Random(1)),
            "application/x-protobuf",
            key,
            args.clients,
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE tracking_span, tracking_event, tracking_transaction CASCADE")
        span_seconds = load(
            args.port, "/v1/traces", spans, "application/x-protobuf", key, args.clients
        )
        batch_seconds = load(
            args.port, "/api/v1/events", batches, "application/json", key, args.clients
        )
        single_seconds = load(
            args.port, "/api/v1/events", singles, "application/json", key, args.clients
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    with psycopg.connect(url) as conn:
        stored_spans = conn.execute("SELECT count(*) FROM tracking_span").fetchone()[0]
        stored_events = conn.execute("SELECT count(*) FROM tracking_event").fetchone()[0]
        txns = conn.execute("SELECT count(*) FROM tracking_transaction").fetchone()[0]
    expected_events = args.events + args.single_events
    span_events = stored_events - expected_events
    print(
        f"stored: {stored_spans} spans, {stored_events} events ({span_events} from spans), "
        f"{txns} transactions"
    )
    if stored_spans != args.spans:
        raise SystemExit(f"expected {args.spans} spans stored, found {stored_spans}")

    copy_span_rows, copy_span_seconds = raw_copy(url, "tracking_span")
    copy_event_rows, copy_event_seconds = raw_copy(url, "tracking_event")
    span_copy_rate = copy_span_rows / copy_span_seconds
    event_copy_rate = copy_event_rows / copy_event_seconds
    span_rate = args.spans / span_seconds
    batch_rate = args.events / batch_seconds
    single_rate = args.single_events / single_seconds

    print()
    print(f"{'path':<46}{'rows/s':>12}{'vs raw COPY':>14}")
    print(f"{'raw COPY into tracking_span':<46}{span_copy_rate:>12,.0f}{'1.00':>14}")
    print(
        f"{'POST /v1/traces protobuf x512 (+ projection)':<46}{span_rate:>12,.0f}"
        f"{span_rate / span_copy_rate:>14.2f}"
    )
    print(f"{'raw COPY into tracking_event':<46}{event_copy_rate:>12,.0f}{'1.00':>14}")
    print(
        f"{'POST /api/v1/events x100 (+ projection)':<46}{batch_rate:>12,.0f}"
        f"{batch_rate / event_copy_rate:>14.2f}"
    )
    print(
        f"{'POST /api/v1/events single (+ projection)':<46}{single_rate:>12,.0f}"
        f"{single_rate / event_copy_rate:>14.2f}"
    )
    print()
    print(
        f"gunicorn workers {args.workers}, client threads {args.clients}, "
        f"{args.spans} spans, {args.events} batched + {args.single_events} single events"
    )


if __name__ == "__main__":
    main()
