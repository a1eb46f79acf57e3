"""For random chains reported in random batches while time passes, the incremental
reconciliation (the contract feed, rechecks included) ends where a from-scratch
recomputation of every contract ends."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards.models import ChangedContract, Contract, ContractBreak
from dashboards.models.contracts import FIGURES
from dashboards.reconciliation import feed
from dashboards.reconciliation.refresh import reconcile_due
from dashboards.refresh import refresh
from tests.dashboards.helpers import TODAY, stamp
from tests.tracking.factories import event
from tracking.models import ChangedTransaction, Transaction

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]

JOURNEYS = {
    "contract_activation": ["contract_approved", "customer_synced", "billing_rules_published"],
    "amendment": ["amendment_approved", "billing_rules_updated", "erp_updated"],
    "billing": ["work_approved", "invoice_generated", "invoice_posted", "payment_received"],
}
SYSTEMS = ["clm", "billing", "erp"]


@st.composite
def chains(draw) -> list[dict]:
    events = []
    for number in range(draw(st.integers(1, 6))):
        journey = draw(st.sampled_from(sorted(JOURNEYS)))
        cid = f"T-{number}"
        contract = draw(st.sampled_from(["C-1", "C-2"]))
        invoice = draw(st.sampled_from(["", "F-1", "F-2"]))
        start = draw(st.integers(0, 96))  # hours before TODAY: deadlines still to come
        stages = JOURNEYS[journey][: draw(st.integers(1, len(JOURNEYS[journey])))]
        for position, stage in enumerate(stages):
            extra = {"contract": contract, "invoice": invoice}
            if draw(st.booleans()):
                extra["amount"] = str(draw(st.sampled_from([100, 250, 1000, 1001])))
                extra["currency"] = "EUR"
            if draw(st.booleans()):
                extra["system"] = draw(st.sampled_from(SYSTEMS))
                extra["contract_version"] = draw(st.sampled_from(["1", "2"]))
            when = TODAY - timedelta(hours=start) + timedelta(hours=position * 3)
            events.append(
                event(
                    stage,
                    correlation_id=cid,
                    journey=journey,
                    occurred_at=stamp(min(when, TODAY)),
                    **extra,
                )
            )
    return events


def state() -> dict:
    contracts = {
        c.key: (c.currency, c.versions, *(getattr(c, f) for f in FIGURES), c.open_breaks)
        for c in Contract.objects.all()
    }
    breaks = {
        (b.contract.key, b.key): (b.kind, b.amount, b.currency, b.correlation_id, b.since, b.detail)
        for b in ContractBreak.objects.filter(cleared_at=None).select_related("contract")
    }
    return {"contracts": contracts, "breaks": breaks}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=chains(),
    cuts=st.lists(st.integers(0, 30), max_size=3),
    waits=st.lists(st.integers(0, 72), min_size=4, max_size=4),
)
def test_incremental_equals_from_scratch(ingest_client, time_machine, events, cuts, waits):
    for model in (Transaction, Contract, ChangedContract, ChangedTransaction):
        model.objects.all().delete()
    time_machine.move_to(TODAY)
    bounds = sorted({min(c, len(events)) for c in cuts} | {0, len(events)})
    for (start, end), wait in zip(itertools.pairwise(bounds), waits, strict=False):
        response = ingest_client.post("/api/v1/events", events[start:end], format="json")
        assert response.json()["errors"] == []
        refresh(now=timezone.now())
        time_machine.shift(timedelta(hours=wait))  # deadlines and graces pass meanwhile
    now = timezone.now()
    refresh(now=now)  # the workers' next tick
    incremental = state()

    Contract.objects.all().delete()
    ChangedContract.objects.all().delete()
    feed.enter_all(now)
    reconcile_due(now)
    assert state() == incremental
