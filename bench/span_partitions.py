"""How long migration 0012 (span table -> partitioned table) blocks ingest, on a big table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/c2c_ops_spanpart \
        .venv/bin/python bench/span_partitions.py --spans 10000000

1. Creates the database if need be, migrates it to 0011 (the plain span table) and fills
   ``tracking_span`` with N spans (INSERT ... SELECT generate_series, in chunks of a
   million; start times spread over the last 60 days), then VACUUM ANALYZE. With
   ``--reuse`` a table of the right size is kept from an earlier run.
2. Runs ``migrate tracking`` in this process, timing every SQL statement it sends, while a
   prober on its own session writes one span and reads one transaction's spans every 20 ms
   (what ingest and the waterfall do) and records how long each took.
3. Prints the slowest statements, the time of the cutover transaction (the one that holds
   the table's ACCESS EXCLUSIVE lock), and the prober's worst wait.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_spanpart")
CHUNK = 1_000_000
FILL = """
INSERT INTO tracking_span (trace_id, span_id, parent_span_id, name, kind, service_name,
    start_time, end_time, status_code, status_message, correlation_id, journey, stage,
    attributes, received_at)
SELECT lpad(to_hex(g / 10), 32, '0'), lpad(to_hex(g), 16, '0'),
    CASE WHEN g %% 10 = 0 THEN '' ELSE lpad(to_hex(g - g %% 10), 16, '0') END,
    'erp.post', 1, 'billing-engine', t, t + interval '120 ms', 1, '',
    'BENCH-' || (g / 10), 'billing', '', '{"http.status_code": 200}', t + interval '1 s'
FROM generate_series(%s::bigint, %s::bigint) g,
    LATERAL (SELECT now() - interval '60 days' * (g::float8 / %s) AS t) s
"""


def sh(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def prepare(spans: int, reuse: bool) -> None:
    name = URL.rsplit("/", 1)[1]
    with psycopg.connect(URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    sh("migrate", "-v0")
    sh("migrate", "tracking", "0011", "-v0")
    with psycopg.connect(URL, autocommit=True) as conn:
        have = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'tracking_span'"
        )
        if reuse and have.fetchone()[0] == spans:
            print(f"reusing {spans:,} spans")
            return
        conn.execute("TRUNCATE tracking_span RESTART IDENTITY")
        started = time.monotonic()
        for first in range(1, spans + 1, CHUNK):
            last = min(first + CHUNK - 1, spans)
            conn.execute(FILL, [first, last, spans])
            print(f"  {last:,} spans, {time.monotonic() - started:.0f} s", flush=True)
        conn.execute("VACUUM ANALYZE tracking_span")
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('tracking_span'))")
        print(
            f"loaded {spans:,} spans ({size.fetchone()[0]}) in {time.monotonic() - started:.0f} s"
        )


class Prober(threading.Thread):
    """One span written and one transaction's spans read, every 20 ms, each timed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.worst = (0.0, "")
        self.count = 0

    def run(self) -> None:
        with psycopg.connect(URL, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                for label, sql in (
                    (
                        "write",
                        "INSERT INTO tracking_span (trace_id, span_id, parent_span_id, name, kind, "
                        "service_name, start_time, end_time, status_code, status_message, "
                        "correlation_id, journey, stage, attributes, received_at) VALUES "
                        f"('ffff{n:028x}', 'ffff{n:012x}', '', 'probe', 1, 'probe', now(), now(), "
                        "1, '', 'PROBE', '', '', '{}', now())",
                    ),
                    (
                        "read",
                        "SELECT count(*) FROM tracking_span WHERE correlation_id = 'BENCH-42'",
                    ),
                ):
                    started = time.monotonic()
                    conn.execute(sql)
                    took = time.monotonic() - started
                    self.count += 1
                    if took > self.worst[0]:
                        self.worst = (took, label)
                time.sleep(0.02)


def migrate() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    timings: list[tuple[float, float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((started, time.monotonic() - started, " ".join(str(sql).split())))

    prober = Prober()
    prober.start()
    time.sleep(1)
    started = time.monotonic()
    with connection.execute_wrapper(timed):
        call_command("migrate", "tracking", verbosity=0)
    total = time.monotonic() - started
    time.sleep(0.5)
    prober.stop.set()
    prober.join()
    print(f"\nmigrate tracking: {total:.2f} s")
    print("slowest statements:")
    for _, took, sql in sorted(timings, key=lambda t: -t[1])[:8]:
        print(f"  {took * 1000:9.1f} ms  {sql[:110]}")
    lock = [t for t in timings if "LOCK TABLE tracking_span IN ACCESS EXCLUSIVE" in t[2]]
    if lock:
        begin = lock[0][0]
        cut = [t for t in timings if t[0] >= begin and "tracking_span_p" in t[2]]
        end = max(t[0] + t[1] for t in cut) if cut else begin
        print(
            f"cutover transaction (ACCESS EXCLUSIVE held): {(end - begin) * 1000:.0f} ms + commit"
        )
    worst, label = prober.worst
    print(f"prober: {prober.count} statements, worst {worst * 1000:.0f} ms ({label})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a loaded table of that size")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = URL
    prepare(args.spans, args.reuse)
    migrate()


if __name__ == "__main__":
    main()
