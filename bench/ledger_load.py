"""Load a large synthetic ledger quickly: events folded by the real projection, then COPY.

Each transaction's events are generated in Python and folded with ``tracking.projection``
(the same ``apply``/``finalize`` that ingest runs), so the transaction rows are exactly what
ingest would have stored; rows then go in with binary COPY, chunk by chunk. Needs Django set
up against the bench database (``bench/metrics.py`` does that).
"""

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from tracking import journeys
from tracking.batch_sql import insert, register_staging
from tracking.ledger import content_hash
from tracking.ledger_rows import (
    EVENT_COLUMNS,
    STATE_WRITE,
    TXN_WRITE,
    state_row,
    transaction_row,
)
from tracking.models import Event, Flow, Transaction, TransactionState
from tracking.projection import IncomingEvent, LedgerState, PlacedEvent, apply, finalize

TXN_COLUMNS = ["id", *TXN_WRITE]
register_staging(Transaction, TXN_COLUMNS)  # before the first connection: staging is per session

FLOWS = {  # journey -> (flow slug, share of transactions)
    "contract_activation": ("clm-to-psa", 0.2),
    "amendment": ("clm-amendments", 0.1),
    "billing": ("psa-to-billing", 0.6),
    "payment_sync": ("erp-payments", 0.1),
}
REGIONS = ["NA", "EMEA", "APAC"]
UNITS = ["Advisory", "Consulting", "Managed Services", "Training"]
ENTITIES = ["C2C Inc", "C2C Ltd", "C2C GmbH"]
CURRENCIES = ["USD"] * 12 + ["EUR"] * 5 + ["GBP"] * 3
HISTORY = timedelta(days=90)
FAIL, STALL, RETRY = 0.03, 0.02, 0.6  # per stage: failure, silence, a failure retried


def fx_rates(now: datetime) -> None:
    """A hundred days of EUR and GBP rates that move a little, day to day."""
    from dashboards.models import FxRate

    for day in range(100):
        date = (now - timedelta(days=day)).date()
        for currency, base, cycle in (("EUR", "1.08", 7), ("GBP", "1.26", 5)):
            rate = Decimal(base) + Decimal(day % cycle) / 100
            FxRate.objects.create(date=date, currency=currency, rate=rate)


def flows() -> dict[str, int]:
    ids = {}
    for journey, (slug, _) in FLOWS.items():
        flow, _ = Flow.objects.get_or_create(
            slug=slug, defaults={"name": slug, "owner_team": journey}
        )
        ids[journey] = flow.id
    return ids


# With contracts: which system each versioned stage speaks for, and the version it holds.
VERSIONED = {
    "contract_approved": ("clm", "1"),
    "customer_synced": ("erp", "1"),
    "billing_rules_published": ("billing", "1"),
    "amendment_approved": ("clm", "2"),
    "billing_rules_updated": ("billing", "2"),
    "erp_updated": ("erp", "2"),
}


def one_transaction(
    number: int,
    journey: journeys.JourneyInfo,
    flow_id: int,
    now: datetime,
    rng: random.Random,
    contracts: int = 0,
) -> tuple[LedgerState, list[IncomingEvent]]:
    """One transaction's events and the state they fold into. With ``contracts``, it names
    contract ``number % contracts`` and reports what reconciliation reads: each stage's
    amount (an invoice at another amount now and then), and versions on versioned stages."""
    cid = f"BENCH-{number:08d}"
    moment = now - HISTORY * rng.random()
    facts = {
        "region": rng.choice(REGIONS),
        "business_unit": rng.choice(UNITS),
        "legal_entity": rng.choice(ENTITIES),
        "customer": f"Customer {rng.randrange(5000)}",
    }
    if contracts:
        key = number % contracts
        facts["contract"] = f"BC-{key:06d}"
        facts["customer"] = f"Customer {key % 5000}"
    events: list[IncomingEvent] = []

    def emit(stage: str, status: str, at: datetime, **extra) -> None:
        events.append(
            IncomingEvent(
                event_id=f"{cid}-{len(events)}",
                correlation_id=cid,
                journey=journey.slug,
                stage=stage,
                status=status,
                occurred_at=at,
                flow_id=flow_id,
                **extra,
            )
        )

    for stage in journey.stages:
        if events:
            previous = journey.stages[stage.position - 1].expected_duration or timedelta(hours=1)
            moment += previous * rng.lognormvariate(-0.7, 0.8)
        if moment > now or (events and rng.random() < STALL):
            break
        extra = {}
        if not events:
            extra = {
                "facts": facts,
                "amount": Decimal(rng.randrange(10_000, 9_000_000)) / 100,
                "currency": rng.choice(CURRENCIES),
            }
            first = extra
        elif contracts:
            extra = {"amount": first["amount"], "currency": first["currency"]}
            if stage.slug == "invoice_generated" and rng.random() < 0.03:
                extra["amount"] = (first["amount"] * Decimal("0.95")).quantize(Decimal("0.01"))
        if contracts and stage.slug in VERSIONED:
            extra["system"], extra["contract_version"] = VERSIONED[stage.slug]
        if rng.random() < FAIL:
            emit(stage.slug, "failed", moment, error_code="E-TIMEOUT", **extra)
            if rng.random() > RETRY:
                break
            moment += timedelta(minutes=rng.randrange(5, 600))
            if moment > now:
                break
            # The retry's success reports the stage again (with contracts: its amount and
            # version too).
            extra = {k: v for k, v in extra.items() if k != "facts"} if contracts else {}
        emit(stage.slug, "succeeded", moment, **extra)
    if not events:  # started in the future: make it begin now
        emit(journey.stages[0].slug, "started", now - timedelta(minutes=1))
    state = LedgerState(correlation_id=cid, journey_id=journey.id)
    for incoming in events:
        apply(state, PlacedEvent(incoming, journey, journey.by_slug[incoming.stage]))
    finalize(state, journey, None, now)
    return state, events


def load(
    total: int,
    now: datetime,
    seed: int = 7,
    chunk: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
    contracts: int = 0,
) -> int:
    """Load ``total`` transactions; returns the number of events written. With
    ``contracts``, they form that many contracts' chains (``one_transaction``)."""
    rng = random.Random(seed)
    flow_ids = flows()
    shares = [(journeys.by_slug(slug), flow_ids[slug], share) for slug, (_, share) in FLOWS.items()]
    weights = [share for *_, share in shares]
    written = 0
    for first in range(1, total + 1, chunk):
        txn_rows, state_rows, event_rows = [], [], []
        for number in range(first, min(first + chunk, total + 1)):
            journey, flow_id, _ = rng.choices(shares, weights)[0]
            state, events = one_transaction(number, journey, flow_id, now, rng, contracts)
            txn_rows.append((number, *transaction_row(state, now)))
            state_rows.append(state_row(number, state))
            for ev in events:
                stage = journey.by_slug[ev.stage]
                event_rows.append(
                    (
                        ev.event_id,
                        number,
                        journey.id,
                        stage.id,
                        ev.status,
                        ev.occurred_at,
                        ev.occurred_at,
                        ev.flow_id,
                        ev.amount,
                        ev.currency,
                        ev.error_code,
                        ev.error_message,
                        ev.attributes,
                        "api",
                        "",
                        "",
                        content_hash(ev),
                        ev.system,
                        ev.contract_version,
                    )
                )
        insert(Transaction, TXN_COLUMNS, txn_rows)
        insert(TransactionState, STATE_WRITE, state_rows)
        insert(Event, EVENT_COLUMNS, event_rows)
        written += len(event_rows)
        if progress:
            progress(first + len(txn_rows) - 1, written)
    return written
