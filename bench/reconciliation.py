"""Reconciliation at 100,000 contracts and 1,000,000 transactions, against raw SQL.

    make bench-reconciliation
    # or: DATABASE_URL=postgres://... .venv/bin/python bench/reconciliation.py

1. Loads a ledger with COPY (``ledger_load``, with contracts: each transaction names one of
   the contracts, reports each stage's amount and, on versioned stages, a system's version),
   reconciles every contract once (timed beside one GROUP BY of the same chains).
2. Records 10,000 new events on old transactions, one each, runs the facts refresh (which
   enters their contracts in the contract feed) untimed, then times the reconciliation of
   the contracts it entered, beside the raw SQL of the same reads and a GROUP BY of them.
3. ``GET /api/v1/contracts/<id>`` and ``GET /api/v1/reconciliation/breaks`` through
   gunicorn: p50/p95 over sequential requests, beside the same SQL statements (captured from
   the view) re-run directly in one session.

Uses ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/c2c_ops_bench``),
emptied first. ``--transactions``, ``--contracts``, ``--events`` and ``--requests`` size a
quicker run.
"""

import argparse
import http.client
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from ingest import prepare_database, start_server  # noqa: E402

URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")
HEADER = f"{'step':<48}{'ms':>11}{'raw SQL ms':>11}{'ratio':>9}"


def row(label: str, seconds: float, raw: float | None, note: str = "") -> None:
    ratio = f"{seconds / raw:>8.2f}x" if raw else f"{'':>9}"
    raw_text = f"{raw * 1000:>11,.1f}" if raw is not None else f"{'':>11}"
    print(f"{label:<48}{seconds * 1000:>11,.1f}{raw_text}{ratio}  {note}", flush=True)


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


RAW_CHAINS = (
    # What reconciling these contracts reads, and the least it could do with it: each
    # contract's stage amounts summed, its version reports' latest per system.
    "WITH t AS (SELECT id, contract, stage_amounts FROM tracking_transaction "
    "WHERE contract = ANY(%s) AND contract <> ''), "
    "money AS (SELECT t.contract, s.key AS stage, sum((s.value->>2)::numeric) AS amount "
    "FROM t, jsonb_each(t.stage_amounts) s GROUP BY 1, 2), "
    "versions AS (SELECT DISTINCT ON (t.contract, e.system) t.contract, e.system, "
    "e.contract_version FROM t JOIN tracking_event e ON e.transaction_id = t.id "
    "WHERE e.contract_version <> '' ORDER BY t.contract, e.system, e.occurred_at DESC) "
    "SELECT (SELECT count(*) FROM money), (SELECT count(*) FROM versions)"
)


def raw_chains(cursor, keys: list[str]) -> float:
    began = time.perf_counter()
    cursor.execute(RAW_CHAINS, [keys])
    cursor.fetchall()
    return time.perf_counter() - began


def requests(port: int, key: str, paths: list[str], rounds: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    for index in range(rounds + 20):
        began = time.perf_counter()
        conn.request("GET", paths[index % len(paths)], headers=headers)
        response = conn.getresponse()
        body = response.read()
        spent = time.perf_counter() - began
        if response.status != 200:
            raise SystemExit(
                f"{paths[index % len(paths)]} answered {response.status}: {body[:300]!r}"
            )
        if index >= 20:  # the first requests warm each gunicorn worker
            times.append(spent)
    return times


def view_sql(paths: list[str], key: str, rounds: int) -> list[float]:
    """The statements each request's view runs, captured once, then timed raw."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    statements = []
    for path in paths:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        # The key's look-up and the session's are the framework's: the data's are timed.
        statements.append(
            [
                q["sql"]
                for q in captured.captured_queries
                if "rest_framework_api_key" not in q["sql"]
            ]
        )
    times = []
    with connection.cursor() as cursor:
        for index in range(rounds + 20):
            began = time.perf_counter()
            for sql in statements[index % len(statements)]:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()
            if index >= 20:
                times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000, help="new events, incremental")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8933)
    args = parser.parse_args()

    prepare_database(URL)
    import django

    django.setup()
    import ledger_load
    from django.db import connection
    from django.utils import timezone

    from dashboards.models import Contract, ContractBreak
    from dashboards.reconciliation import feed
    from dashboards.reconciliation.refresh import reconcile_due
    from dashboards.refresh import refresh
    from tracking import journeys
    from tracking.ledger import record, run_atomic
    from tracking.models import Flow, FlowAPIKey
    from tracking.projection import IncomingEvent

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dashboards_contract, dashboards_changedcontract, dashboards_contractmember, "
            "dashboards_fxrate CASCADE"
        )
    now = timezone.now()
    ledger_load.fx_rates(now)
    print(f"loading {args.transactions:,} transactions, {args.contracts:,} contracts ...")
    began = time.perf_counter()
    ledger_load.load(
        args.transactions,
        now,
        contracts=args.contracts,
        progress=lambda n, e: print(f"  {n:,} transactions, {e:,} events", end="\r", flush=True),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tracking_transaction', 'id'), %s)",
            [args.transactions],
        )
        for table in ("tracking_transaction", "tracking_transactionstate", "tracking_event"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("TRUNCATE tracking_changedtransaction")  # the facts are not the subject
    print(f"\nloaded in {time.perf_counter() - began:,.0f} s\n")

    print(HEADER)
    keys = [f"BC-{k:06d}" for k in range(args.contracts)]
    with connection.cursor() as cursor:
        raw = raw_chains(cursor, keys)
    feed.enter_all(now)
    began = time.perf_counter()
    everything = reconcile_due(now)
    spent = time.perf_counter() - began
    breaks = ContractBreak.objects.filter(cleared_at=None).count()
    row(
        "reconcile every contract (from scratch)",
        spent,
        raw,
        f"{everything.contracts:,} contracts, {breaks:,} open breaks",
    )
    with connection.cursor() as cursor:
        for table in (
            "dashboards_contract",
            "dashboards_contractbreak",
            "dashboards_contractmember",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")

    # 10,000 new events on old transactions, one each: the next stage of unfinished ones.
    rng = random.Random(5)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.correlation_id, t.journey_id, t.current_stage_id, t.flow_id, "
            "t.currency FROM tracking_transaction t JOIN tracking_transactionstate s "
            "ON s.transaction_id = t.id WHERE s.status = 'in_progress' AND t.contract <> '' "
            "ORDER BY random() LIMIT %s",
            [args.events],
        )
        candidates = cursor.fetchall()
    new, ids = [], []
    for txn_id, cid, journey_id, stage_id, flow_id, currency in candidates:
        info = journeys.by_id(journey_id)
        stage = info.stage_by_id(stage_id) if info else None
        if info is None or stage is None or stage.position >= info.last_position:
            continue
        following = info.stages[stage.position + 1]
        new.append(
            IncomingEvent(
                event_id=f"{cid}-bench-{following.slug}",
                correlation_id=cid,
                journey=info.slug,
                stage=following.slug,
                status="succeeded",
                occurred_at=timezone.now(),
                flow_id=flow_id,
                amount=rng.choice([None, Decimal("100.00")]),
                currency=currency if currency else "USD",
            )
        )
        ids.append(txn_id)
    for first in range(0, len(new), 500):
        run_atomic(lambda batch=new[first : first + 500]: record(batch))
    # The facts refresh, which enters the changed transactions' contracts in the feed (its
    # own reconciliation, next in the same task, is the step timed here).
    moment = timezone.now()
    refreshed, _ = time.perf_counter(), refresh(now=moment, fold=False, reconcile=False)
    print(
        f"(recorded {len(new):,} events; facts refreshed in "
        f"{time.perf_counter() - refreshed:.1f} s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contract FROM dashboards_changedcontract WHERE due_at <= %s", [moment]
        )
        due = [r[0] for r in cursor.fetchall()]
        raw = raw_chains(cursor, due)
    began = time.perf_counter()
    result = reconcile_due(moment)
    spent = time.perf_counter() - began
    row(
        f"reconcile after {len(new):,} new events",
        spent,
        raw,
        f"{result.contracts:,} contracts; {result.opened:,} breaks opened, "
        f"{result.cleared:,} cleared",
    )

    key = FlowAPIKey.objects.create_key(flow=Flow.objects.first(), scopes=["read"], name="bench")[1]
    with_breaks = list(
        Contract.objects.filter(open_breaks__gt=0).order_by("?").values_list("key", flat=True)[:50]
    )
    plain = list(Contract.objects.order_by("?").values_list("key", flat=True)[:50])
    contract_paths = [f"/api/v1/contracts/{k}" for k in with_breaks + plain]
    break_paths = [
        "/api/v1/reconciliation/breaks",
        "/api/v1/reconciliation/breaks?kind=amount_mismatch",
        "/api/v1/reconciliation/breaks?min_amount=1000",
        "/api/v1/reconciliation/breaks?region=EMEA",
    ]
    server = start_server(URL, args.port, args.workers)
    try:
        for label, paths, target in (
            ("GET /api/v1/contracts/<id>", contract_paths, 0.050),
            ("GET /api/v1/reconciliation/breaks", break_paths, 0.150),
        ):
            http_times = requests(args.port, key, paths, args.requests)
            raw_times = view_sql(paths, key, args.requests)
            for share, name in ((0.5, "p50"), (0.95, "p95")):
                row(f"{label} {name}", pct(http_times, share), pct(raw_times, share))
            verdict = "met" if pct(http_times, 0.95) < target else "MISSED"
            print(f"  p95 target {target * 1000:.0f} ms: {verdict}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
