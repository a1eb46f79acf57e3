"""The metrics engine at 1,000,000 transactions, each step beside raw SQL of the same work.

    make bench-metrics           # or: DATABASE_URL=postgres://... .venv/bin/python bench/metrics.py

1. Loads a synthetic ledger (90 days, four journeys, failures, retries, silences) with COPY,
   its transaction rows folded by the real projection (``bench/ledger_load.py``).
2. Full rebuild of facts and rollups, beside one GROUP BY of every event into 5-minute
   buckets (the cheapest aggregate a rebuild could be).
3. Stuck sweep with N transactions newly late, beside the same UPDATE of their state rows,
   outbox INSERT and change-feed upsert run as one raw statement (rolled back); and the idle
   sweep beside its index probe.
4. Incremental refresh after N new events recorded through the ledger, twice: one event
   each for N unfinished transactions anywhere in the 90 days (the worst case: their facts
   touch buckets all over the history), then three events each for N/3 new transactions
   (live traffic). Beside the raw reads and GROUP BYs of the same work: the touched
   transactions' events, facts and rows, and their dirty buckets re-aggregated. The refresh
   is timed until its figures show (its differences committed as pending rollups); the
   fold that adds them to the rollups at every grain, next in the same task, on its own.
   The raw side re-aggregates at every grain, so it stands for the refresh and its fold.
5. ``GET /api/v1/metrics/summary`` (gunicorn on loopback, sequential requests, four filters)
   p50/p95, computed on every request (``METRICS_CACHE_SECONDS=0``) and with the result
   cache (entries reused until a refresh or snapshot moves the figures), beside the same
   SQL statements run directly, and beside a scan of the ledger for part of the same
   figures (what the rollups save). On a server with autovacuum off, the rollups are
   vacuumed first, as autovacuum would have done (``settle_rollups``).

``--reuse`` keeps a ledger already loaded (by this bench or ``bench/dashboards.py``, after
its rebuild) and measures from step 3 on: the sweep, the refreshes and the summary.
"""

import argparse
import http.client
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from ingest import prepare_database, start_server  # noqa: E402
from metrics_raw import (  # noqa: E402
    FILTERS,
    ledger_scan,
    raw_rebuild,
    raw_refresh,
    raw_sweep,
    summary_sql,
)

URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")


def timed(work: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    value = work()
    return time.perf_counter() - began, value


def row(label: str, seconds: float, raw: float | None, note: str = "") -> None:
    ratio = f"{seconds / raw:>8.2f}x" if raw else f"{'':>9}"
    raw_text = f"{raw * 1000:>10,.1f}" if raw is not None else f"{'':>10}"
    print(f"{label:<44}{seconds * 1000:>11,.1f}{raw_text}{ratio}  {note}", flush=True)


def p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def make_late(cursor, count: int, now) -> int:
    """Move ``count`` moving transactions' deadlines a minute into the past, on both rows
    (as the ledger writes them)."""
    cursor.execute(
        "WITH late AS (UPDATE tracking_transactionstate SET next_deadline_at = %s "
        "WHERE transaction_id IN (SELECT transaction_id FROM tracking_transactionstate "
        "WHERE status = 'in_progress' AND next_deadline_at > %s "
        "ORDER BY transaction_id DESC LIMIT %s) RETURNING transaction_id) "
        "UPDATE tracking_transaction t SET next_deadline_at = %s FROM late "
        "WHERE t.id = late.transaction_id",
        [now - timedelta(minutes=1), now, count, now - timedelta(minutes=1)],
    )
    return cursor.rowcount


def next_events(count: int, now) -> tuple[list, list[int]]:
    """One event for each of ``count`` unfinished transactions: its next stage succeeds."""
    from tracking import journeys
    from tracking.models import Transaction
    from tracking.projection import IncomingEvent

    events, ids = [], []
    rows = (
        Transaction.objects.filter(state__status__in=["in_progress", "stuck", "failed"])
        .exclude(current_stage=None)
        .order_by("-id")
        .values_list("id", "correlation_id", "journey_id", "current_stage_id", "stage_status")
    )
    for txn_id, cid, journey_id, stage_id, stage_status in rows.iterator():
        journey = journeys.by_id(journey_id)
        position = next(s.position for s in journey.stages if s.id == stage_id)
        if stage_status == "succeeded":
            position += 1
        if position >= len(journey.stages):
            continue
        events.append(
            IncomingEvent(
                event_id=f"{cid}-{position}-{now:%H%M%S}",
                correlation_id=cid,
                journey=journey.slug,
                stage=journey.stages[position].slug,
                status="succeeded",
                occurred_at=now - timedelta(seconds=len(events) % 600),
            )
        )
        ids.append(txn_id)
        if len(events) == count:
            break
    return events, ids


def live_events(count: int, now) -> tuple[list, list[int]]:
    """Events as live traffic brings them: new billing transactions, three stages each."""
    from tracking.projection import IncomingEvent

    stages = ["work_approved", "invoice_generated", "invoice_posted"]
    events = []
    for n in range(count):
        number, stage = divmod(n, len(stages))
        cid = f"LIVE-{now:%H%M%S}-{number:06d}"
        events.append(
            IncomingEvent(
                event_id=f"{cid}-{stage}",
                correlation_id=cid,
                journey="billing",
                stage=stages[stage],
                status="succeeded",
                occurred_at=now - timedelta(seconds=900 - number % 600 - stage * 60),
                amount=Decimal("1200.00") if stage == 0 else None,
                currency="EUR" if stage == 0 else "",
                facts={"region": "EMEA", "business_unit": "Advisory"} if stage == 0 else {},
            )
        )
    return events, []


def summary_requests(port: int, key: str, rounds: int) -> list[float]:
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    for index in range(rounds + 20):
        query = urlencode({"window": "30d", **FILTERS[index % len(FILTERS)]})
        began = time.perf_counter()
        conn.request("GET", f"/api/v1/metrics/summary?{query}", headers=headers)
        response = conn.getresponse()
        body = response.read()
        spent = time.perf_counter() - began
        if response.status != 200:
            raise SystemExit(f"summary answered {response.status}: {body[:300]!r}")
        if index >= 20:  # the first requests warm each gunicorn worker
            times.append(spent)
    return times


HEADER = f"{'step':<44}{'ms':>11}{'raw SQL ms':>10}{'ratio':>9}"


def settle_rollups(cursor) -> None:
    """Vacuum the rollups the refreshes just changed, when the server's autovacuum is off.

    With autovacuum on (PostgreSQL's default), the rollup tables are vacuumed once a
    hundredth of their rows changed (migration dashboards 0010): the summary's index-only
    reads then visit the table only for pages changed since. A server with autovacuum off
    never clears them, and the reads measured would be of a state production does not stay in.
    """
    cursor.execute("SHOW autovacuum")
    if cursor.fetchone()[0] == "on":
        return
    began = time.perf_counter()
    for table in ("dashboards_rollup", "dashboards_coarserollup"):
        cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"(autovacuum is off on this server: vacuumed the rollups as it would have, "
        f"{time.perf_counter() - began:.1f} s)",
        flush=True,
    )


def fold_row() -> None:
    """The fold that follows a refresh in the same task: the figures showed before it."""
    from dashboards.rollups import fold_pending

    spent, folded = timed(fold_pending)
    row("  then its fold into the rollups", spent, None, f"{folded.folded:,} pending rows")


def load_and_rebuild(transactions: int) -> None:
    """Steps 1 and 2: the ledger with COPY, the catch-up sweep, then the timed rebuild."""
    import ledger_load
    from django.db import connection
    from django.utils import timezone

    from dashboards import rebuild, risk
    from dashboards.models import Rollup
    from tracking.sweep import sweep

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dashboards_rollup, dashboards_coarserollup, dashboards_risksnapshot, "
            "dashboards_fxrate"
        )
    now = timezone.now()
    ledger_load.fx_rates(now)

    print(f"loading {transactions:,} transactions with COPY ...", flush=True)
    began = time.perf_counter()
    events = ledger_load.load(
        transactions,
        now,
        progress=lambda n, e: print(f"  {n:,} transactions, {e:,} events", end="\r", flush=True),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tracking_transaction', 'id'), %s)",
            [transactions],
        )
        cursor.execute("VACUUM ANALYZE tracking_transaction")
        cursor.execute("VACUUM ANALYZE tracking_transactionstate")
        cursor.execute("VACUUM ANALYZE tracking_event")
    print(
        f"\nloaded {transactions:,} transactions, {events:,} events in "
        f"{time.perf_counter() - began:,.0f} s",
        flush=True,
    )
    caught_up, marked = timed(lambda: sweep(now=now).marked)
    print(f"catch-up sweep: {marked:,} transactions marked stuck in {caught_up:,.1f} s\n")

    print(HEADER)
    with connection.cursor() as cursor:
        raw = raw_rebuild(cursor)
    spent, result = timed(lambda: rebuild.rebuild())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dashboards_fact")
        cursor.execute("VACUUM ANALYZE dashboards_rollup")
        cursor.execute("VACUUM ANALYZE dashboards_coarserollup")
        cursor.execute("SELECT count(*) FROM dashboards_fact")
        facts = cursor.fetchone()[0]
    row(
        "full rebuild",
        spent,
        raw,
        f"{result.transactions:,} txns -> {facts:,} facts, {Rollup.objects.count():,} rollup rows",
    )
    spent, cells = timed(lambda: risk.snapshot(timezone.now()))
    row("revenue-at-risk snapshot", spent, None, f"{cells:,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000, help="new events, incremental")
    parser.add_argument("--late", type=int, default=10_000, help="newly late, for the sweep")
    parser.add_argument("--requests", type=int, default=400, help="summary requests")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8932)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the loaded and rebuilt ledger: steps 3 to 5"
    )
    args = parser.parse_args()

    prepare_database(URL, keep_data=args.reuse)
    import django

    django.setup()
    import ledger_load
    from django.db import connection
    from django.utils import timezone

    from dashboards import refresh, risk
    from dashboards.models import RiskSnapshot
    from tracking.ledger import record, run_atomic
    from tracking.models import FlowAPIKey
    from tracking.sweep import sweep

    if args.reuse:
        with connection.cursor() as cursor:
            # bench/dashboards.py loads ids without moving the sequence; new ones follow on.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('tracking_transaction', 'id'), "
                "(SELECT max(id) FROM tracking_transaction))"
            )
        print(HEADER)
    else:
        load_and_rebuild(args.transactions)
    now = timezone.now()
    with connection.cursor() as cursor:
        late = make_late(cursor, args.late, now)
        cursor.execute("ANALYZE tracking_transaction")
        cursor.execute("ANALYZE tracking_transactionstate")
    raw = raw_sweep(connection, now)
    spent, swept = timed(lambda: sweep(now=now))
    row(f"stuck sweep, {late:,} newly late", spent, raw, f"{swept.marked:,} marked")
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute(
            "SELECT transaction_id FROM tracking_transactionstate WHERE status = 'in_progress' "
            "AND next_deadline_at <= %s LIMIT 1000",
            [now],
        )
        cursor.fetchall()
        raw = time.perf_counter() - began
    spent, _ = timed(lambda: sweep(now=now))
    row("stuck sweep, nothing late (every minute)", spent, raw)
    spent, absorbed = timed(lambda: refresh.refresh(now=timezone.now(), fold=False))
    row("refresh after that sweep", spent, None, f"{absorbed.transactions:,} txns")
    fold_row()

    for label, (new, ids) in (
        ("one each, old txns", next_events(args.events, timezone.now())),
        ("3 each, new txns", live_events(args.events, timezone.now())),
    ):
        began = time.perf_counter()
        for first in range(0, len(new), 500):
            run_atomic(lambda batch=new[first : first + 500]: record(batch))
        recorded = time.perf_counter() - began
        print(f"(recorded {len(new):,} events in {recorded:.1f} s)")
        spent, result = timed(lambda: refresh.refresh(now=timezone.now(), fold=False))
        with connection.cursor() as cursor:
            if not ids:  # new transactions: their ids are known once recorded
                cursor.execute(
                    "SELECT id FROM tracking_transaction WHERE correlation_id = ANY(%s)",
                    [sorted({e.correlation_id for e in new})],
                )
                ids = [row[0] for row in cursor.fetchall()]
            raw = raw_refresh(cursor, ids, result.dirty)
        row(
            f"incremental refresh, {len(new):,} events ({label})",
            spent,
            raw,
            f"{result.transactions:,} txns, {result.buckets:,} buckets",
        )
        fold_row()
    spent, _ = timed(lambda: risk.snapshot(timezone.now()))
    row("revenue-at-risk snapshot", spent, None, f"{RiskSnapshot.objects.count():,} rows kept")

    with connection.cursor() as cursor:
        settle_rollups(cursor)
    flow = ledger_load.flows()["billing"]
    _, key = FlowAPIKey.objects.create_key(flow_id=flow, scopes=["read"], name="bench")
    sql_times = summary_sql(args.requests, timezone.now())
    for label, seconds in (("computed each time", "0"), ("with the result cache", "300")):
        os.environ["METRICS_CACHE_SECONDS"] = seconds
        server = start_server(URL, args.port, args.workers)
        try:
            http_times = summary_requests(args.port, key, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=20)
        for share in (0.5, 0.95):
            row(
                f"summary endpoint p{int(share * 100)}, {label}",
                p(http_times, share),
                p(sql_times, share),
                "window=30d, 4 filters, HTTP" if share == 0.5 else "",
            )
    with connection.cursor() as cursor:
        scan = ledger_scan(cursor, timezone.now())
    row("ledger scan, part of the summary (median)", scan, None, "no rollups: for scale")


if __name__ == "__main__":
    main()
