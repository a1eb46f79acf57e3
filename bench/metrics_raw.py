"""The yardsticks of bench/metrics.py: the raw SQL of the same work the engine does, run in
the same session, so each timing is printed beside the physical limit it is compared to."""

import statistics
import time
from datetime import timedelta

# The summary's filters, timed one after the other (as the overview's filter bar sends them).
FILTERS = [
    {},
    {"region": "EMEA"},
    {"journey": "billing"},
    {"region": "NA", "business_unit": "Advisory"},
]


def raw_rebuild(cursor) -> float:
    began = time.perf_counter()
    cursor.execute(
        "CREATE TEMP TABLE raw_rollup AS SELECT date_bin('5 minutes', e.occurred_at, "
        "TIMESTAMPTZ '1970-01-01') AS bucket, e.status, t.journey_id, t.flow_id, t.region, "
        "t.business_unit, t.legal_entity, count(*) AS n, sum(t.amount) AS amount "
        "FROM tracking_event e JOIN tracking_transaction t ON t.id = e.transaction_id "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    spent = time.perf_counter() - began
    cursor.execute("DROP TABLE raw_rollup")
    return spent


def raw_sweep(connection, now) -> float:
    from django.db import transaction

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "WITH late AS (UPDATE tracking_transactionstate SET status = 'stuck', "
            "version = version + 1 WHERE status = 'in_progress' AND next_deadline_at <= %s "
            "RETURNING transaction_id AS id), "
            "feed AS (INSERT INTO tracking_changedtransaction (transaction_id, due_at) "
            "SELECT id, %s FROM late ON CONFLICT (transaction_id) DO UPDATE "
            "SET due_at = excluded.due_at) "
            "INSERT INTO tracking_statuschange (transaction_id, correlation_id, journey_id, "
            "stage_id, from_status, to_status, cause, event_id, error_code, error_message, "
            "changed_at) SELECT t.id, correlation_id, journey_id, current_stage_id, "
            "'in_progress', 'stuck', 'sweep', stage_event_id, '', '', %s "
            "FROM late JOIN tracking_transaction t ON t.id = late.id",
            [now, now, now],
        )
        spent = time.perf_counter() - began
        transaction.set_rollback(True)
    return spent


def raw_refresh(cursor, ids: list[int], dirty: set) -> float:
    """The reads a refresh needs, plus re-aggregating its dirty buckets at three grains and
    their hours and days without business unit and legal entity (the coarse rollups)."""
    dims = "measure, journey, flow, region, business_unit, legal_entity"
    hours = {b - timedelta(seconds=int(b.timestamp()) % 3600) for b in dirty}
    days = {b - timedelta(seconds=int(b.timestamp()) % 86400) for b in dirty}
    began = time.perf_counter()
    for sql, params in (
        (
            "SELECT transaction_id, occurred_at, status FROM tracking_event "
            "WHERE transaction_id = ANY(%s)",
            [ids],
        ),
        ("SELECT * FROM dashboards_fact WHERE transaction_id = ANY(%s)", [ids]),
        ("SELECT * FROM tracking_transaction WHERE id = ANY(%s)", [ids]),
        (
            "SELECT transaction_id, status FROM tracking_transactionstate "
            "WHERE transaction_id = ANY(%s)",
            [ids],
        ),
        (
            f"SELECT bucket, {dims}, sum(count), sum(amount) FROM dashboards_fact "
            f"WHERE bucket = ANY(%s) GROUP BY bucket, {dims}",
            [sorted(dirty)],
        ),
        (
            f"SELECT h.start, {dims}, sum(count), sum(amount) FROM unnest(%s::timestamptz[]) "
            "AS h(start) JOIN dashboards_rollup ON grain = 300 AND bucket >= h.start "
            f"AND bucket < h.start + interval '1 hour' GROUP BY 1, {dims}",
            [sorted(hours)],
        ),
        (
            f"SELECT d.start, {dims}, sum(count), sum(amount) FROM unnest(%s::timestamptz[]) "
            "AS d(start) JOIN dashboards_rollup ON grain = 3600 AND bucket >= d.start "
            f"AND bucket < d.start + interval '1 day' GROUP BY 1, {dims}",
            [sorted(days)],
        ),
        (
            "SELECT grain, bucket, measure, journey, flow, region, sum(count), sum(amount) "
            "FROM dashboards_rollup WHERE (grain = 3600 AND bucket = ANY(%s)) "
            "OR (grain = 86400 AND bucket = ANY(%s)) "
            "GROUP BY grain, bucket, measure, journey, flow, region",
            [sorted(hours), sorted(days)],
        ),
    ):
        cursor.execute(sql, params)
        cursor.fetchall()
    return time.perf_counter() - began


def summary_sql(rounds: int, now) -> list[float]:
    """The statements the summary runs, captured once per filter, then timed raw."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboards.summary import summary

    statements = []
    for filters in FILTERS:
        with CaptureQueriesContext(connection) as captured:
            summary("30d", filters, now)
        statements.append([q["sql"] for q in captured.captured_queries])
    times = []
    with connection.cursor() as cursor:
        for index in range(rounds + 20):
            began = time.perf_counter()
            for sql in statements[index % len(statements)]:
                cursor.execute(sql)  # BEGIN and SET TRANSACTION of its snapshot too
                if cursor.description:
                    cursor.fetchall()
            if index >= 20:
                times.append(time.perf_counter() - began)
    return times


def ledger_scan(cursor, now, rounds: int = 3) -> float:
    """Part of the summary straight from the ledger: counts, money, stuck, latency p50/p95."""
    spent = []
    for filters in FILTERS[:rounds]:
        where = " AND ".join(f"t.{k} = %s" for k in filters if k != "journey") or "true"
        params = [v for k, v in filters.items() if k != "journey"]
        began = time.perf_counter()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE t.started_at >= %s), "
            "sum(t.amount) FILTER (WHERE t.started_at >= %s), "
            "count(*) FILTER (WHERE t.completed_at >= %s), "
            "count(*) FILTER (WHERE s.status = 'failed'), "
            "count(*) FILTER (WHERE s.status = 'stuck'), "
            "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY "
            "(t.stage_times->>'invoice_posted')::timestamptz "
            "- (t.stage_times->>'work_approved')::timestamptz) "
            "FROM tracking_transaction t JOIN tracking_transactionstate s "
            f"ON s.transaction_id = t.id WHERE {where}",
            [now - timedelta(days=30)] * 3 + params,
        )
        cursor.fetchall()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent)
