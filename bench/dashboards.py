"""The dashboard pages at 1,000,000 transactions and 10,000,000 spans, beside their raw SQL.

    make bench-dashboards    # or: DATABASE_URL=postgres://... .venv/bin/python bench/dashboards.py

1. Loads N transactions and their events (``ledger_load``: folded by the real projection,
   then COPY), and S spans with COPY (ten per transaction by default: one root, nine
   children, 3% errors), then the stuck sweep, the full rollup rebuild and a risk snapshot,
   copied back over 90 days (hourly) and 6 hours (each minute) as the snapshot task keeps
   them, for the risk chart to read.
2. Captures the SQL each page URL runs (signed in as a viewer, in this process) and times
   those exact statements on one psycopg session.
3. Signs in over HTTP (gunicorn on loopback) and times sequential GETs of each URL,
   interleaved, after a warm-up.

The overview is measured twice: with the figure cache (production default; between two
metric refreshes most requests read it) and with ``METRICS_CACHE_SECONDS=0``, where every
request computes every figure.

Requirements: overview under 200 ms p95; transactions list and detail under 150 ms p95.
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from ingest import prepare_database, start_server  # noqa: E402
from metrics import row  # noqa: E402
from pages import captured_sql, login, p95, page_requests, raw_sql, report  # noqa: E402

URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")
USER, PASSWORD = "bench-viewer", "bench-viewer-pass-1234"
TARGETS = {"overview": 0.200, "list": 0.150, "detail": 0.150}
SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, service_name, start_time, end_time, "
    "status_code, status_message, correlation_id, journey, stage, attributes, received_at"
)
SERVICES = ["psa-sync", "billing-engine", "erp-connector", "tax-engine"]
OPERATIONS = ["POST /invoices", "erp.post", "tax.compute", "db.query", "queue.publish"]


def load_spans(transactions: int, per: int, rng: random.Random) -> int:
    """``per`` spans for each transaction, stamped around its first event, with COPY."""
    written = 0
    with psycopg.connect(URL) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT id, correlation_id, started_at FROM tracking_transaction ORDER BY id"
        )
        rows = cursor.fetchall()
        with (
            conn.cursor() as out,
            out.copy(f"COPY tracking_span ({SPAN_COLUMNS}) FROM STDIN") as copy,
        ):
            for number, cid, started in rows:
                trace = f"{number:032x}"
                root = f"{number:08x}00000000"
                begin = started
                for index in range(per):
                    span = root if index == 0 else f"{number:08x}{index:08x}"
                    start = begin + timedelta(milliseconds=rng.randrange(0, 5_000))
                    end = start + timedelta(milliseconds=rng.randrange(5, 2_000))
                    failed = rng.random() < 0.03
                    copy.write_row(
                        (trace, span, "" if index == 0 else root, rng.choice(OPERATIONS), 1,
                         rng.choice(SERVICES), start, end, 2 if failed else 1,
                         "upstream timeout" if failed else "", cid, "billing", "", "{}", end)
                    )  # fmt: skip
                    written += 1
                if number % 50_000 == 0:
                    print(f"  {written:,} spans", end="\r", flush=True)
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tracking_span")
    return written


def risk_history(cursor, days: int = 90) -> int:
    """Copies of the latest risk snapshot, as the every-minute task leaves them after
    ``days``: one an hour over the history, one a minute over the last six hours (amounts
    varied, so the series is not flat). The overview's risk chart reads these."""
    cursor.execute("SELECT count(DISTINCT taken_at) FROM dashboards_risksnapshot")
    if cursor.fetchone()[0] > 1:
        return 0
    columns = "journey, flow, region, business_unit, legal_entity, reason, age, count"
    cursor.execute(
        f"INSERT INTO dashboards_risksnapshot (taken_at, hourly, {columns}, amount) "
        f"SELECT s.taken_at - step, steps.hourly, {columns}, "
        "round(s.amount * (0.7 + 0.6 * random())::numeric, 2) "
        "FROM dashboards_risksnapshot s, ("
        "  SELECT make_interval(hours => h), true FROM generate_series(1, %s) h"
        "  UNION ALL SELECT make_interval(mins => m), false FROM generate_series(1, 359) m"
        "  WHERE m %% 60 <> 0"
        ") AS steps (step, hourly) "
        "WHERE s.taken_at = (SELECT max(taken_at) FROM dashboards_risksnapshot) "
        # Each snapshot's rows together, as the task writes them.
        "ORDER BY step DESC",
        [days * 24],
    )
    written = cursor.rowcount
    cursor.execute(
        "INSERT INTO dashboards_risksnapshottaken (taken_at, hourly, token) "
        "SELECT taken_at, hourly, (random() * 4e18)::bigint FROM dashboards_risksnapshot "
        "GROUP BY taken_at, hourly ON CONFLICT DO NOTHING"
    )
    cursor.execute("VACUUM ANALYZE dashboards_risksnapshot")
    return written


def viewer() -> None:
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username=USER)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="viewer"))


def examples() -> dict[str, str]:
    """A stuck and a failed transaction's correlation IDs, for the detail pages."""
    from tracking.models import Transaction

    ids = Transaction.objects.values_list("correlation_id", flat=True)
    stuck = ids.filter(state__status="stuck")
    failed = ids.filter(state__status="failed")
    return {"stuck": stuck.first(), "failed": failed.first()}


def page_urls(ids: dict[str, str]) -> dict[str, dict[str, tuple[str, dict[str, str]]]]:
    fragment = {"HX-Request": "true"}
    return {
        "overview": {
            "overview, 30 days": ("/", {}),
            "overview, 7 days, EMEA": ("/?window=7d&region=EMEA", {}),
            "overview tiles (every 30 s)": ("/?window=30d&part=tiles", fragment),
        },
        "list": {
            "transactions, newest": ("/transactions/", {}),
            "transactions, stuck in EMEA": ("/transactions/?status=stuck&region=EMEA", {}),
            "transactions, by amount": ("/transactions/?sort=amount", {}),
            "transactions, search": ("/transactions/?q=BENCH-0004", {}),
            "transactions, count (every 30 s)": (
                "/transactions/?status=failed&part=count",
                fragment,
            ),
        },
        "detail": {
            "detail, stuck": (f"/transactions/{ids['stuck']}/", {}),
            "detail, failed": (f"/transactions/{ids['failed']}/", {}),
        },
    }


def check(path: str, status: int, body: bytes) -> None:
    if status != 200 or (b"<html" not in body and b'id="' not in body):
        raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")


def measure(groups, rounds: int, workers: int, port: int) -> dict:
    urls = {label: spec for group in groups.values() for label, spec in group.items()}
    statements = captured_sql(urls, USER, check)
    sql_times, slowest = raw_sql(URL, statements, rounds)
    server = start_server(URL, port, workers)
    try:
        http_times = page_requests(port, login(port, USER, PASSWORD), urls, rounds, check)
    finally:
        server.terminate()
        server.wait(timeout=20)
    report("GET (HTTP, sequential)", urls, statements, http_times, sql_times, slowest)
    return {name: (p95(http_times, list(group)), p95(sql_times, list(group)))
            for name, group in groups.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--spans-per-transaction", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per URL")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8934)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data, measure only")
    args = parser.parse_args()

    prepare_database(URL, keep_data=args.reuse)
    import django

    django.setup()
    import ledger_load
    from django.db import connection
    from django.utils import timezone

    from dashboards import rebuild, risk
    from tracking import partitions
    from tracking.sweep import sweep

    if not args.reuse:
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE dashboards_rollup, dashboards_coarserollup, dashboards_risksnapshot, "
                "dashboards_fxrate"
            )
        ledger_load.fx_rates(now)
        began = time.perf_counter()
        print(f"loading {args.transactions:,} transactions with COPY ...", flush=True)
        events = ledger_load.load(
            args.transactions,
            now,
            progress=lambda n, e: print(
                f"  {n:,} transactions, {e:,} events", end="\r", flush=True
            ),
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tracking_transaction")
            cursor.execute("VACUUM ANALYZE tracking_transactionstate")
            cursor.execute("VACUUM ANALYZE tracking_event")
        # Day partitions for the spans' 90 days, as production has them after retention
        # has run for a while: without them every span would land in the DEFAULT partition.
        partitions.ensure(1, since=now - timedelta(days=91))
        spans = load_spans(args.transactions, args.spans_per_transaction, random.Random(11))
        print(f"\nloaded {args.transactions:,} transactions, {events:,} events, {spans:,} spans "
              f"in {time.perf_counter() - began:,.0f} s", flush=True)  # fmt: skip
        began = time.perf_counter()
        marked = sweep(now=now).marked
        rebuild.rebuild()
        risk.snapshot(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE dashboards_rollup")
            cursor.execute("VACUUM ANALYZE dashboards_coarserollup")
            # The sweep just made tens of thousands of rows stuck; without fresh statistics
            # the planner believes there are none (autovacuum would catch up in minutes).
            cursor.execute("VACUUM ANALYZE tracking_transaction")
            cursor.execute("VACUUM ANALYZE tracking_transactionstate")
        print(f"sweep ({marked:,} stuck), rollup rebuild and risk snapshot in "
              f"{time.perf_counter() - began:,.0f} s\n", flush=True)  # fmt: skip
    with connection.cursor() as cursor:
        if written := risk_history(cursor):
            print(f"risk snapshot history: {written:,} rows", flush=True)
    viewer()
    groups = page_urls(examples())

    os.environ["METRICS_CACHE_SECONDS"] = "300"
    results = measure(groups, args.requests, args.workers, args.port)
    print("\nthe overview again, computing every figure on every request:")
    os.environ["METRICS_CACHE_SECONDS"] = "0"
    from django.conf import settings

    settings.METRICS_CACHE_SECONDS = 0
    computed = measure({"overview": groups["overview"]}, args.requests, args.workers, args.port)

    print()
    verdicts = []
    for name, (page, raw) in results.items():
        row(f"{name} p95 (cached figures)", page, raw)
        verdicts.append((name, page))
    page, raw = computed["overview"]
    row("overview p95 (computed each time)", page, raw)
    verdicts.append(("overview, computed", page))
    for name, page in verdicts:
        target = TARGETS[name.split(",")[0]]
        verdict = "met" if page < target else "MISSED"
        print(f"{name}: p95 {page * 1000:.0f} ms (target < {target * 1000:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
