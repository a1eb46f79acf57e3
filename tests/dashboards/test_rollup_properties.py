"""Rollup figures against a brute-force count over the raw events, for random ledgers.

Each example reports a random set of billing transactions through the events API in two
deliveries (so the second refresh is incremental, with late and out-of-order events), runs
the stuck sweep and the rollup refresh after each (its differences folded into the rollups
or left pending, at random), then asks ``queries.totals`` for a random window and filter.
The expected figures are worked out here from the generated events alone, by the rules
docs/metrics.md states, without the facts module.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.models import FxRate, SlaPolicy
from dashboards.queries import histogram, percentile, totals
from dashboards.refresh import refresh
from tests.dashboards.helpers import report, stamp
from tracking.models import Journey, Stage
from tracking.sweep import sweep

pytestmark = pytest.mark.django_db

STAGES = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
# The seeded billing journey's expected time from each stage to the next.
EXPECTED = [timedelta(days=2), timedelta(hours=4), timedelta(days=45)]
REGIONS = ["EMEA", "NA", "APAC"]
UNITS = ["consulting", "managed"]
ENTITIES = ["C2C-US", "C2C-UK"]
FLOW = "psa-to-billing"  # the ingest key's flow (conftest)
# Every event lies within the 40 days before the test run, so the API accepts it and
# deadlines fall on both sides of "now".
BASE = datetime.fromtimestamp(int(timezone.now().timestamp()) // 300 * 300, tz=UTC) - timedelta(
    days=40
)
CENT = Decimal("0.01")
EUR_RATES = [
    (BASE - timedelta(days=100), Decimal("1.10")),
    (BASE + timedelta(days=10), Decimal("1.25")),
]


def rate(currency: str, day) -> Decimal | None:
    """Reporting-currency units per unit: the latest rate on or before the day."""
    if currency == "USD":
        return Decimal(1)
    if currency == "EUR":
        return [r for d, r in EUR_RATES if d.date() <= day][-1]
    return None  # GBP has no rate at all


def convert(amount: Decimal | None, currency: str, moment: datetime) -> Decimal | None:
    if amount is None:
        return None
    per_unit = rate(currency, moment.date())
    return None if per_unit is None else (amount * per_unit).quantize(CENT)


@dataclass
class Generated:
    events: list[dict] = field(default_factory=list)
    first_delivery: list[bool] = field(default_factory=list)


minutes = st.integers(min_value=1, max_value=3 * 24 * 60)


@st.composite
def ledgers(draw) -> Generated:
    """Transactions that succeed a prefix of the stages, maybe retrying, maybe failing next."""
    out = Generated()
    for n in range(draw(st.integers(min_value=2, max_value=10))):
        cid = f"PROP-{n}"
        cursor = BASE + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        cursor += timedelta(seconds=draw(st.integers(0, 59)))
        done = draw(st.integers(0, 4))
        fails = done == 0 or (done < 4 and draw(st.booleans()))
        steps: list[tuple[int, str]] = []
        if draw(st.booleans()):
            steps.append((0, "started"))
        for position in range(done):
            if draw(st.integers(0, 3)) == 0:
                steps.append((position, "failed"))  # retried: a success follows
            steps.append((position, "succeeded"))
        if fails:
            steps.append((done, "failed"))
        events = []
        for index, (position, status) in enumerate(steps):
            if index:
                cursor += timedelta(minutes=draw(minutes), seconds=draw(st.integers(0, 59)))
            payload = {
                "event_id": f"{cid}-{index}",
                "correlation_id": cid,
                "journey": "billing",
                "stage": STAGES[position],
                "status": status,
                "occurred_at": stamp(cursor),
            }
            if status == "failed":
                payload["error"] = {"code": "E-PROP"}
            events.append(payload)
        first = events[0]
        first["region"] = draw(st.sampled_from(REGIONS))
        first["business_unit"] = draw(st.sampled_from(UNITS))
        first["legal_entity"] = draw(st.sampled_from(ENTITIES))
        if draw(st.integers(0, 4)):
            first["amount"] = str(draw(st.integers(1, 500_000)) / 100)
            first["currency"] = draw(st.sampled_from(["USD", "EUR", "GBP"]))
        if len(events) > 1 and draw(st.booleans()):
            # A later event restates a fact: the latest report wins.
            later = events[draw(st.integers(1, len(events) - 1))]
            if draw(st.booleans()):
                later["region"] = draw(st.sampled_from(REGIONS))
            else:
                later["amount"] = str(draw(st.integers(1, 500_000)) / 100)
                later["currency"] = draw(st.sampled_from(["USD", "EUR"]))
        # The first delivery holds the events up to a cut, less maybe one that arrives late.
        cut = draw(st.integers(0, len(events)))
        early = [index < cut for index in range(len(events))]
        if cut > 1 and draw(st.booleans()):
            early[draw(st.integers(0, cut - 2))] = False
        out.events += events
        out.first_delivery += early
    return out


@dataclass(frozen=True)
class PolicySpec:
    id: int
    start: str
    end: str
    target: timedelta
    region: str


def latest(events: list[dict], name: str):
    """The value of the latest event carrying ``name`` (last writer wins)."""
    carrying = [e for e in events if name in e]
    return max(carrying, key=lambda e: (e["occurred_at"], e["event_id"])) if carrying else None


def when(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def brute_force(
    generated: Generated, policies: list[PolicySpec], now: datetime, stage_ids: dict[str, int]
) -> tuple[list[tuple], list[tuple]]:
    """Facts as (moment, measure, dims, amount) and latencies as (moment, policy, dims, s)."""
    facts: list[tuple] = []
    latencies: list[tuple] = []
    by_txn: dict[str, list[dict]] = {}
    for e in generated.events:
        by_txn.setdefault(e["correlation_id"], []).append(e)
    for events in by_txn.values():
        dims = (
            "billing",
            FLOW,
            latest(events, "region")["region"],
            latest(events, "business_unit")["business_unit"],
            latest(events, "legal_entity")["legal_entity"],
        )
        priced = latest(events, "amount")
        amount = None if priced is None else Decimal(priced["amount"])
        currency = "" if priced is None else priced["currency"]

        def money(moment: datetime, amount=amount, currency=currency) -> Decimal | None:
            return convert(amount, currency, moment)

        started = min(when(e) for e in events)
        facts.append((started, "started", dims, money(started)))
        if amount is not None and money(now) is None:
            facts.append((started, "unpriced", dims, None))
        success: dict[str, datetime] = {}
        for e in events:
            if e["status"] == "succeeded":
                success.setdefault(e["stage"], when(e))
                facts.append((when(e), "ev_ok", dims, None))
            elif e["status"] == "failed":
                facts.append((when(e), "ev_failed", dims, None))
        done = len(success)
        last = events[-1]  # the generator orders each transaction's events in time
        status = "in_progress"
        if done == 4:
            end = success["payment_received"]
            facts.append((end, "completed", dims, money(end)))
            status = "completed"
        elif last["status"] == "failed" and last["stage"] == STAGES[done]:
            facts.append((when(last), "failed", dims, money(when(last))))
            status = "failed"
        else:
            deadline = success[STAGES[done - 1]] + EXPECTED[done - 1]
            if deadline <= now:
                facts.append((deadline, "stuck", dims, money(deadline)))
                status = "stuck"
        # The funnel's count: where the transaction is now (its latest report), at its start.
        facts.append((started, f"stage:{stage_ids[last['stage']]}:{status}", dims, None))
        for policy in policies:
            if policy.region and policy.region != dims[2]:
                continue
            start = success.get(policy.start)
            if start is None:
                continue
            due = start + policy.target
            end = success.get(policy.end)
            if end is not None:
                latencies.append((end, policy.id, dims, (end - start).total_seconds()))
                if end <= due:
                    facts.append((end, f"sla_met:{policy.id}", dims, money(end)))
                else:
                    facts.append((due, f"sla_breached:{policy.id}", dims, money(due)))
            elif due <= now:
                facts.append((due, f"sla_breached:{policy.id}", dims, money(due)))
    return facts, latencies


def bucket(moment: datetime) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % 300, tz=UTC)


DIM_NAMES = ("journey", "flow", "region", "business_unit", "legal_entity")

coarse_filters = {
    "journey": st.sampled_from(["", "billing", "amendment"]),
    "flow": st.sampled_from(["", FLOW, "billing-to-erp"]),
    "region": st.sampled_from(["", *REGIONS]),
}
# Half the queries name no unit or entity: their hours and days come from CoarseRollup.
filters_strategy = st.one_of(
    st.fixed_dictionaries(
        {**coarse_filters, "business_unit": st.just(""), "legal_entity": st.just("")}
    ),
    st.fixed_dictionaries(
        {
            **coarse_filters,
            "business_unit": st.sampled_from(["", *UNITS]),
            "legal_entity": st.sampled_from(["", *ENTITIES]),
        }
    ),
)
# Windows on 5-minute boundaries (what the API asks), from a few minutes to the whole span,
# so that their cover mixes 5-minute, hour and day rows.
windows = st.tuples(
    st.integers(min_value=-288, max_value=45 * 288), st.integers(min_value=1, max_value=46 * 288)
)


def matches(dims: tuple, filters: dict[str, str]) -> bool:
    return all(not filters[n] or filters[n] == v for n, v in zip(DIM_NAMES, dims, strict=True))


def add_policies(targets: list[int], region: str) -> list[PolicySpec]:
    """Two duration policies on the billing journey in place of the seeded ones."""
    SlaPolicy.objects.update(active=False)
    journey = Journey.objects.get(slug="billing")
    stage = {s.slug: s for s in Stage.objects.filter(journey=journey)}
    specs = []
    for n, (start, end, scope) in enumerate(
        [("work_approved", "invoice_posted", ""), ("invoice_generated", "payment_received", region)]
    ):
        policy = SlaPolicy.objects.create(
            slug=f"prop-{n}",
            name=f"Property {n}",
            journey=journey,
            from_stage=stage[start],
            to_stage=stage[end],
            kind="duration",
            target=timedelta(hours=targets[n]),
            business_time=False,
            region=scope,
        )
        specs.append(PolicySpec(policy.id, start, end, policy.target, scope))
    return specs


def deliver(client, events: list[dict]) -> None:
    if events:
        report(client, *events)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    generated=ledgers(),
    targets=st.lists(st.integers(min_value=1, max_value=120), min_size=2, max_size=2),
    scope=st.sampled_from(["", *REGIONS]),
    queries=st.lists(st.tuples(windows, filters_strategy), min_size=1, max_size=4),
    folds=st.tuples(st.booleans(), st.booleans()),
)
def test_rollups_agree_with_a_brute_force_count(
    ingest_client, generated, targets, scope, queries, folds
):
    with transaction.atomic():
        for day, value in EUR_RATES:
            FxRate.objects.create(date=day.date(), currency="EUR", rate=value)
        policies = add_policies(targets, scope)
        pairs = list(zip(generated.events, generated.first_delivery, strict=True))
        deliver(ingest_client, [e for e, first in pairs if first])
        now = timezone.now() + timedelta(minutes=1)
        sweep(now=now)
        # Figures are the same whether a refresh's differences were folded into the
        # rollups yet or are still pending.
        refresh(now=now, fold=folds[0])
        deliver(ingest_client, [e for e, first in pairs if not first])
        now = timezone.now() + timedelta(minutes=1)
        sweep(now=now)
        refresh(now=now, fold=folds[1])

        stage_ids = dict(Stage.objects.filter(journey__slug="billing").values_list("slug", "id"))
        facts, latencies = brute_force(generated, policies, now, stage_ids)
        measures = {measure for _, measure, _, _ in facts}
        for (offset, length), filters in queries:
            start = BASE + timedelta(minutes=5 * offset)
            end = start + timedelta(minutes=5 * length)
            got = totals(start, end, filters)
            expected: dict[str, list] = {}
            for moment, measure, dims, amount in facts:
                if start <= bucket(moment) < end and matches(dims, filters):
                    held = expected.setdefault(measure, [0, Decimal(0)])
                    held[0] += 1
                    held[1] += amount or 0
            for measure in measures | set(got):
                if measure.startswith("latency:"):
                    continue
                count, amount = got.get(measure, [0, None])
                assert [count, amount or 0] == expected.get(measure, [0, 0]), (
                    measure,
                    start,
                    end,
                    filters,
                )
            for policy in policies:
                seconds = sorted(
                    s
                    for moment, pid, dims, s in latencies
                    if pid == policy.id and start <= bucket(moment) < end and matches(dims, filters)
                )
                for share in (0.5, 0.95, 0.99):
                    estimate = percentile(histogram(got, policy.id), share)
                    if not seconds:
                        assert estimate is None
                        continue
                    exact = seconds[max(1, math.ceil(share * len(seconds))) - 1]
                    # Within one histogram bin: bins are a quarter of a doubling wide.
                    assert abs(math.log2(estimate / exact)) <= 0.25, (share, estimate, exact)
        transaction.set_rollback(True)
