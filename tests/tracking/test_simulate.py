"""`manage.py simulate` drives a running app through its real interfaces."""

import random
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from tests.server import AppServer
from tracking.models import DeadLetter, Event, Span, Transaction
from tracking.simulation.scenario import JOURNEYS, plan_transaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


@pytest.fixture
def server():
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    with AppServer(url) as app:
        yield app


def test_backfill_writes_a_varied_history(server):
    out = StringIO()
    call_command(
        "simulate",
        "--url",
        server.url,
        "--backfill",
        "3d",
        "--per-day",
        "60",
        "--seed",
        "5",
        stdout=out,
        stderr=StringIO(),
    )
    assert "errors 0" in out.getvalue()
    assert Transaction.objects.count() == 180
    statuses = dict(Transaction.objects.values_list("state__status").annotate(n=Count("id")))
    assert statuses.get("completed") and statuses.get("in_progress")
    assert len(set(Transaction.objects.values_list("region", flat=True))) == 3
    assert len(set(Transaction.objects.values_list("currency", flat=True))) >= 4
    # Both interfaces carried reports, and the flows' inner calls joined their transactions.
    assert set(Event.objects.values_list("source", flat=True)) == {"api", "span"}
    assert not Span.objects.filter(correlation_id="").exists()
    assert not DeadLetter.objects.exists()


def test_live_traffic_flows_for_the_given_duration(server):
    out = StringIO()
    call_command(
        "simulate",
        "--url",
        server.url,
        "--rate",
        "1200",  # transactions a minute, about 200 contracts' chains: some in 3 seconds
        "--duration",
        "3",
        "--time-scale",
        "0.00001",
        "--seed",
        "9",
        stdout=out,
        stderr=StringIO(),
    )
    assert Transaction.objects.exists()
    assert "errors 0" in out.getvalue()


def test_scenarios_include_failures_retries_and_stalls():
    rng = random.Random(3)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    plans = [plan_transaction(rng, n, start) for n in range(400)]
    statuses = [r.status for plan in plans for r in plan]
    assert statuses.count("failed") > 10
    retried = [
        p for p in plans if any(r.status == "failed" for r in p) and p[-1].status == "succeeded"
    ]
    assert retried
    last_stage = {name: spec[3][-1][0] for name, spec in JOURNEYS.items()}
    stalled = [
        p for p in plans if p[-1].status == "succeeded" and p[-1].stage != last_stage[p[-1].journey]
    ]
    assert stalled  # silent stops: what the stuck sweep is for
    assert all(
        p[i].occurred_at >= p[0].occurred_at
        for p in plans
        for i in range(1, len(p))
        if p[i].status != "started"
    )


def test_the_simulated_firm_has_every_kind_of_break_at_a_few_percent(server):
    from dashboards.models import Contract, ContractBreak
    from dashboards.refresh import refresh

    call_command(
        "simulate", "--url", server.url, "--backfill", "30d", "--per-day", "50", "--seed", "11",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    refresh()
    contracts = Contract.objects.count()
    open_breaks = ContractBreak.objects.filter(cleared_at=None)
    by_kind = dict(open_breaks.values_list("kind").annotate(n=Count("id")))
    assert set(by_kind) == {
        "version_mismatch", "amount_mismatch", "unbilled", "over_billed", "duplicate_invoice",
    }  # fmt: skip
    # A few percent of contracts for each kind (unbilled work is the common one).
    assert all(n <= contracts * 0.25 for n in by_kind.values()), (by_kind, contracts)


def test_invoices_and_work_carry_their_business_references():
    rng = random.Random(4)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    invoice = plan_transaction(rng, 7, start, journey="billing")
    assert {(r.dims["invoice"], r.dims["project"]) for r in invoice} == {
        (invoice[0].correlation_id, "PRJ-000007")
    }
    contract = plan_transaction(rng, 8, start, journey="contract_activation")
    assert {r.dims.get("project") for r in contract} == {"PRJ-000008"}
    assert "invoice" not in contract[0].dims
