"""What the simulated firm does: who its customers are, how its flows behave, how they fail.

Pure and seeded: the same seed gives the same history, so tests and benchmarks can rely on
what they get. Times are real UTC times; nothing here sends anything.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

REGIONS = {
    "NA": (["USD"], ["Northwind Advisory Inc.", "Northwind Canada ULC"]),
    "EMEA": (["EUR", "GBP"], ["Northwind Europe GmbH", "Northwind UK Ltd"]),
    "APAC": (["AUD", "SGD"], ["Northwind Australia Pty", "Northwind Asia Pte"]),
}
BUSINESS_UNITS = ["Advisory", "Tax", "Technology Consulting", "Managed Services"]
CUSTOMERS = [
    "Acme Manufacturing",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Retail",
    "Hooli",
    "Vandelay Imports",
    "Soylent Foods",
    "Tyrell Energy",
    "Cyberdyne Systems",
    "Wonka Confectionery",
    "Oceanic Air",
    "Massive Dynamic",
]

# Which flow reports which stage, and how: spans (OpenTelemetry) or status callbacks.
FLOWS = {
    "clm-to-crm-customer": ("clm", "crm", "revops", "event"),
    "crm-to-psa-project": ("crm", "psa", "pmo-integrations", "span"),
    "psa-to-billing": ("psa", "billing", "billing-ops", "span"),
    "billing-to-erp": ("billing", "erp", "finance-systems", "span"),
    "bank-to-erp-payments": ("bank", "erp", "treasury-ops", "event"),
    "erp-to-billing-status": ("erp", "billing", "finance-systems", "event"),
}
H = timedelta(hours=1)
D = timedelta(days=1)
# journey: (correlation prefix, share of traffic, amount median, stages)
# stage: (slug, reporting flow, expected time to the next stage, error codes it fails with)
JOURNEYS = {
    "contract_activation": (
        "SOW",
        0.2,
        80_000,
        [
            ("contract_approved", "clm-to-crm-customer", 1 * H, ["CLM-SIGNATURE-MISSING"]),
            (
                "customer_synced",
                "clm-to-crm-customer",
                4 * H,
                ["CRM-DUPLICATE-ACCOUNT", "CRM-TIMEOUT"],
            ),
            ("project_activated", "crm-to-psa-project", 1 * D, ["PSA-RATE-CARD-MISSING"]),
            ("billing_rules_published", "psa-to-billing", None, ["BILLING-RULE-INVALID"]),
        ],
    ),
    "amendment": (
        "AMD",
        0.1,
        15_000,
        [
            ("amendment_approved", "clm-to-crm-customer", 4 * H, ["CLM-VERSION-CONFLICT"]),
            ("billing_rules_updated", "psa-to-billing", 1 * D, ["BILLING-RULE-INVALID"]),
            ("erp_updated", "billing-to-erp", None, ["ERP-PERIOD-CLOSED", "ERP-TIMEOUT"]),
        ],
    ),
    "billing": (
        "INV",
        0.5,
        12_000,
        [
            ("work_approved", "psa-to-billing", 2 * D, ["PSA-TIMESHEET-LOCKED"]),
            ("invoice_generated", "psa-to-billing", 4 * H, ["TAX-CODE-MISSING", "BILLING-TIMEOUT"]),
            (
                "invoice_posted",
                "billing-to-erp",
                45 * D,
                ["ERP-PERIOD-CLOSED", "ERP-CUSTOMER-UNKNOWN"],
            ),
            ("payment_received", "bank-to-erp-payments", None, ["BANK-REMITTANCE-UNMATCHED"]),
        ],
    ),
    "payment_sync": (
        "PAY",
        0.2,
        9_000,
        [
            ("payment_received", "bank-to-erp-payments", 1 * H, ["BANK-FILE-REJECTED"]),
            ("payment_applied", "bank-to-erp-payments", 4 * H, ["ERP-INVOICE-NOT-FOUND"]),
            ("billing_status_updated", "erp-to-billing-status", None, ["BILLING-TIMEOUT"]),
        ],
    ),
}
MESSAGES = {
    "TIMEOUT": "upstream did not answer within 30 s",
    "MISSING": "required reference data is missing",
    "UNKNOWN": "referenced record does not exist in the target system",
    "CLOSED": "the accounting period is closed for posting",
}


@dataclass
class Report:
    """One thing a flow tells c2c-ops about a stage of a transaction."""

    correlation_id: str
    journey: str
    stage: str
    status: str
    occurred_at: datetime
    flow: str
    transport: str
    event_id: str
    amount: Decimal | None = None
    currency: str = ""
    dims: dict[str, str] = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""
    system: str = ""  # the system whose state it reports, when it says
    contract_version: str = ""


@dataclass
class Behaviour:
    fail_rate: float = 0.05  # a stage attempt fails
    retry_rate: float = 0.75  # a failed stage is retried (and then succeeds)
    stall_rate: float = 0.025  # the flow silently stops after a stage: stuck later
    started_rate: float = 0.3  # a "started" report precedes the outcome
    slow_rate: float = 0.08  # a stage takes longer than expected


def _message(code: str) -> str:
    for suffix, text in MESSAGES.items():
        if code.endswith(suffix):
            return text
    return f"{code.replace('-', ' ').lower()}"


def _amount(rng: random.Random, median: int) -> Decimal:
    value = median * math.exp(rng.gauss(0, 0.8))
    return Decimal(f"{value:.2f}")


def _duration(rng: random.Random, expected: timedelta, behaviour: Behaviour) -> timedelta:
    share = rng.lognormvariate(math.log(0.35), 0.5)
    if rng.random() < behaviour.slow_rate:
        share = rng.uniform(1.1, 3.0)
    return expected * min(share, 4.0)


@dataclass
class Terms:
    """What a transaction of a contract's chain carries besides the journey's own rules."""

    dims: dict[str, str]
    currency: str
    amount: Decimal
    # stage -> the amount that stage reports, where it differs from ``amount``
    stage_amounts: dict[str, Decimal] = field(default_factory=dict)
    # stage -> (system, contract version) the stage's success reports
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)


def random_dims(rng: random.Random) -> tuple[dict[str, str], str]:
    """A customer in a region, with its business unit, legal entity and currency."""
    region = rng.choice(list(REGIONS))
    currencies, entities = REGIONS[region]
    dims = {
        "region": region,
        "business_unit": rng.choice(BUSINESS_UNITS),
        "legal_entity": rng.choice(entities),
        "customer": rng.choice(CUSTOMERS),
    }
    return dims, rng.choice(currencies)


def _references(journey: str, number: int, correlation_id: str) -> dict[str, str]:
    """The business references a flow of this journey reports, as a real one would: an
    invoice is known by its number, work by its project (a contract's chain names its own)."""
    if journey == "billing":
        return {"invoice": correlation_id, "project": f"PRJ-{number:06d}"}
    if journey == "contract_activation":
        return {"project": f"PRJ-{number:06d}"}
    return {}


def plan_transaction(
    rng: random.Random,
    number: int,
    started_at: datetime,
    behaviour: Behaviour | None = None,
    journey: str | None = None,
    time_scale: float = 1.0,
    terms: Terms | None = None,
) -> list[Report]:
    """Every report of one transaction, in occurrence order, including future ones.

    ``time_scale`` < 1 compresses the time between stages (live demo traffic); ``terms``
    ties the transaction into a contract's chain (``tracking.simulation.chains``).
    """
    behaviour = behaviour or Behaviour()
    if journey is None:
        names = list(JOURNEYS)
        journey = rng.choices(names, weights=[JOURNEYS[n][1] for n in names])[0]
    prefix, _, median, stages = JOURNEYS[journey]
    if terms is None:
        dims, currency = random_dims(rng)
        terms = Terms(dims, currency, _amount(rng, median))
    correlation_id = f"{prefix}-{started_at.year}-{number:06d}"
    dims, currency, amount = (
        _references(journey, number, correlation_id) | terms.dims,
        terms.currency,
        terms.amount,
    )
    reports: list[Report] = []
    moment = started_at
    attempt = 0

    def report(stage: str, flow: str, status: str, when: datetime, code: str = "") -> None:
        nonlocal attempt
        attempt += 1
        system, version = terms.versions.get(stage, ("", "")) if status == "succeeded" else ("", "")
        reports.append(
            Report(
                correlation_id=correlation_id,
                journey=journey,
                stage=stage,
                status=status,
                occurred_at=when,
                flow=flow,
                transport=FLOWS[flow][3],
                event_id=f"{correlation_id}:{stage}:{attempt}",
                amount=terms.stage_amounts.get(stage, amount),
                currency=currency,
                dims=dims,
                error_code=code,
                error_message=_message(code) if code else "",
                system=system,
                contract_version=version,
            )
        )

    for slug, flow, expected, errors in stages:
        if rng.random() < behaviour.started_rate:
            report(
                slug, flow, "started", moment - timedelta(minutes=rng.uniform(1, 20)) * time_scale
            )
        if rng.random() < behaviour.fail_rate:
            report(slug, flow, "failed", moment, rng.choice(errors))
            if rng.random() >= behaviour.retry_rate:
                break  # left failed: an exception for ops
            moment += timedelta(minutes=rng.uniform(10, 360)) * time_scale
        report(slug, flow, "succeeded", moment)
        if expected is None or rng.random() < behaviour.stall_rate:
            break
        moment += _duration(rng, expected, behaviour) * time_scale
    return reports
