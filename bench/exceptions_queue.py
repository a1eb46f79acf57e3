"""The exception queue page at 100,000 open cases, beside raw SQL of the same queries.

    make bench-queue    # or: DATABASE_URL=postgres://... .venv/bin/python bench/exceptions_queue.py

1. Loads N billing transactions with COPY, one live case each (about 85% open or
   acknowledged, the rest snoozed or ignored; ~30% owned by five operators, teams from six
   flows, amounts lognormal with 3% unpriced, opened over 60 days), plus R resolved cases on
   the same transactions, which the partial indexes must keep out of the queue's way.
2. Captures the SQL each queue URL runs (``django.test.Client`` in this process, signed in
   as the operator) and times those exact statements re-run on one psycopg session.
3. Signs in over HTTP (gunicorn on loopback) and times sequential GETs of six queue URLs,
   interleaved, after a warm-up: default ranking, mine, one flow by amount, region with a
   minimum amount, page 50, and the htmx fragment. p50/p95 per URL and overall, each beside
   its raw SQL; the ratio column is "times the raw SQL".

Requirement: the queue page answers in under 150 ms p95 with 100,000 open cases.
"""

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from ingest import prepare_database, start_server  # noqa: E402
from metrics import p, row  # noqa: E402
from pages import captured_sql, login, page_requests, raw_sql, report  # noqa: E402

URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/c2c_ops_bench")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")
TARGET = 0.150
PASSWORD = "bench-operator-pass-1234"  # noqa: S105
OPERATORS = ["bench-operator", "ops-ana", "ops-bruno", "ops-chen", "ops-dara"]
FLOWS = {  # slug -> (owner team, share of cases)
    "psa-to-billing": ("billing", 40),
    "billing-to-erp": ("erp", 20),
    "erp-payments": ("finance-ops", 15),
    "crm-to-billing": ("billing", 10),
    "tax-engine": ("tax", 10),
    "einvoice-gateway": ("erp", 5),
}
LIVE = {"open": 60, "acknowledged": 25, "snoozed": 10, "ignored": 5}  # share of live cases
REGIONS = ["EMEA", "NA", "APAC"]
UNITS = ["Advisory", "Consulting", "Managed Services", "Training"]
ERRORS = {
    "ERP-422": "ERP rejected the invoice: cost centre is closed for posting",
    "ERP-409": "Invoice number already posted in the target ledger",
    "TAX-500": "Tax engine timed out computing VAT for the customer's jurisdiction",
    "PSA-404": "Timesheet batch not found in PSA",
    "EINV-400": "E-invoice schema validation failed: BuyerReference missing",
    "NET-503": "Upstream unavailable (503) after 5 retries",
}
TXN_COLUMNS = (
    "id, correlation_id, journey_id, current_stage_id, stage_status, stage_event_at, "
    "stage_event_id, flow_id, customer, contract, project, invoice, region, "
    "business_unit, legal_entity, amount, currency, error_code, error_message, started_at, "
    "last_event_at, completed_at, next_deadline_at, stage_times, facts, event_count, "
    "created_at, updated_at"
)
CASE_COLUMNS = (
    "transaction_id, correlation_id, journey_id, stage_id, flow_id, kind, error_code, "
    "error_message, event_id, region, business_unit, amount, original_amount, "
    "original_currency, status, owner_id, team, snoozed_until, occurrences, opened_at, "
    "last_seen_at, resolved_at, resolution, resolved_by, updated_at"
)


def setup_rows() -> tuple[int, list[int], dict[str, tuple[int, str]], list[int]]:
    """The seeded billing journey, six flows and five operators (the first one signs in)."""
    from django.contrib.auth.models import Group, User

    from tracking.models import Flow, Journey, Stage

    journey = Journey.objects.get(slug="billing")
    stages = list(Stage.objects.filter(journey=journey).order_by("position").values_list("id"))
    flows = {}
    for slug, (team, _) in FLOWS.items():
        flow, _ = Flow.objects.update_or_create(
            slug=slug, defaults={"name": slug, "owner_team": team}
        )
        flows[slug] = (flow.id, team)
    operator = Group.objects.get(name="operator")
    owners = []
    for name in OPERATORS:
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(operator)
        owners.append(user.id)
    return journey.id, [s for (s,) in stages], flows, owners


def load(cases: int, resolved: int, now: datetime, rng: random.Random) -> None:
    from exceptions.models import ExceptionCase

    journey, stages, flows, owners = setup_rows()
    slugs = list(flows)
    weights = [FLOWS[s][1] for s in slugs]
    history = timedelta(days=60)
    facts: list[tuple] = []  # per transaction, what its cases repeat
    states: list[tuple] = []  # per transaction, its TransactionState row
    with psycopg.connect(URL) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY tracking_transaction ({TXN_COLUMNS}) FROM STDIN") as copy:
            for txn in range(1, cases + 1):
                cid = f"INV-Q-{txn:08d}"
                flow_id, team = flows[rng.choices(slugs, weights)[0]]
                kind = "failed" if rng.random() < 0.7 else "stuck"
                code = rng.choice(list(ERRORS)) if kind == "failed" else ""
                amount = (
                    None
                    if rng.random() < 0.03
                    else Decimal(f"{min(max(rng.lognormvariate(8, 1.6), 100), 500_000):.2f}")
                )
                region, unit = rng.choice(REGIONS), rng.choice(UNITS)
                opened = now - history * rng.random()
                stage = rng.choice(stages)
                facts.append((cid, flow_id, team, kind, code, amount, region, unit, stage))
                states.append((txn, kind, 1, opened))
                copy.write_row(
                    (txn, cid, journey, stage, "failed" if kind == "failed" else "succeeded",
                     opened, f"{cid}-e", flow_id, f"Customer {txn % 3000}", "", "", "",
                     region, unit, "C2C Ltd", amount, "EUR" if amount else "", code,
                     ERRORS.get(code, ""), opened - timedelta(days=2), opened, None, None,
                     "{}", "{}", 3, opened, opened)
                )  # fmt: skip
        with cursor.copy(
            "COPY tracking_transactionstate (transaction_id, status, version, last_event_at) "
            "FROM STDIN"
        ) as copy:
            for row in states:
                copy.write_row(row)
        with cursor.copy(
            f"COPY {ExceptionCase._meta.db_table} ({CASE_COLUMNS}) FROM STDIN"
        ) as copy:
            for n in range(cases + resolved):
                txn = n + 1 if n < cases else rng.randrange(1, cases + 1)
                cid, flow_id, team, kind, code, amount, region, unit, stage = facts[txn - 1]
                live = rng.choices(list(LIVE), list(LIVE.values()))[0]
                status = "resolved" if n >= cases else live
                opened = now - history * rng.random()
                seen = opened + (now - opened) * rng.random() * 0.2
                done = seen + timedelta(hours=rng.random() * 48) if status == "resolved" else None
                copy.write_row(
                    (txn, cid, journey, stage, flow_id, kind, code, ERRORS.get(code, ""),
                     f"{cid}-e", region, unit, amount, amount, "EUR" if amount else "", status,
                     rng.choice(owners) if rng.random() < 0.3 else None, team,
                     now + timedelta(hours=rng.randint(1, 72)) if status == "snoozed" else None,
                     1 + int(rng.expovariate(0.7)), opened, seen, done,
                     "fixed upstream" if done else "", "system" if done else "", done or seen)
                )  # fmt: skip
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('tracking_transaction', 'id'), %s)", [cases]
        )
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tracking_transaction")
        conn.execute("VACUUM ANALYZE tracking_transactionstate")
        conn.execute(f"VACUUM ANALYZE {ExceptionCase._meta.db_table}")


def queue_urls(flow: str) -> dict[str, tuple[str, dict[str, str]]]:
    fragment = {"HX-Request": "true"}
    return {
        "default (money x age)": ("/exceptions/", {}),
        "mine": ("/exceptions/?mine=true", {}),
        f"flow={flow}, by amount": (f"/exceptions/?{urlencode({'flow': flow})}&sort=amount", {}),
        "region=EMEA, min_amount=10000": ("/exceptions/?region=EMEA&min_amount=10000", {}),
        "page 50": ("/exceptions/?page=50", {}),
        "htmx fragment (default)": ("/exceptions/", fragment),
    }


def check(path: str, status: int, body: bytes) -> None:
    if status != 200 or b'<tr id="case-' not in body:
        raise SystemExit(f"GET {path} answered {status} without case rows: {body[:300]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="live cases (1 per txn)")
    parser.add_argument("--resolved", type=int, default=50_000, help="extra resolved cases")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per URL")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8933)
    args = parser.parse_args()

    prepare_database(URL)
    import django

    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from exceptions.models import ExceptionCase

    print(f"loading {args.cases:,} transactions and cases with COPY ...", flush=True)
    began = time.perf_counter()
    load(args.cases, args.resolved, timezone.now(), random.Random(42))
    by_status = dict(ExceptionCase.objects.values_list("status").annotate(n=Count("id")))
    print(
        f"loaded in {time.perf_counter() - began:,.0f} s: "
        + ", ".join(f"{n:,} {s}" for s, n in sorted(by_status.items()))
        + f"; {by_status.get('open', 0) + by_status.get('acknowledged', 0):,} in the queue\n",
        flush=True,
    )

    urls = queue_urls(next(iter(FLOWS)))
    statements = captured_sql(urls, OPERATORS[0], check)
    sql_times, slowest = raw_sql(URL, statements, args.requests)
    server = start_server(URL, args.port, args.workers)
    try:
        cookie = login(args.port, OPERATORS[0], PASSWORD)
        http_times = page_requests(args.port, cookie, urls, args.requests, check)
    finally:
        server.terminate()
        server.wait(timeout=20)

    strip = (ExceptionCase._meta.db_table,)
    report(
        "GET /exceptions/ (HTTP, sequential)",
        urls,
        statements,
        http_times,
        sql_times,
        slowest,
        strip,
    )
    every_page = [t for times in http_times.values() for t in times]
    every_raw = [t for times in sql_times.values() for t in times]
    overall = p(every_page, 0.95)
    row("all URLs p95", overall, p(every_raw, 0.95), f"{len(every_page):,} requests")
    verdict = "met" if overall < TARGET else "MISSED"
    print(f"\nqueue page p95 {overall * 1000:.0f} ms (target < {TARGET * 1000:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
