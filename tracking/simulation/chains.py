"""Contracts of the simulated firm as chains: an activation, perhaps amendments, invoices
and payments, all naming the contract, each system reporting the version it holds.

Breaks happen at the rates a finance team would recognise (a few percent), each from a
cause a flow really has: an amendment that never reaches the ERP (the journey stalls or
fails for good), an invoice generated at another amount than the work approved, work
approved and never invoiced (the billing flow stalls), invoices past the contract's value,
an invoice reference reused. Pure and seeded, like ``scenario``.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .scenario import Behaviour, Report, Terms, _amount, plan_transaction, random_dims

D = timedelta(days=1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ChainRates:
    amendment: float = 0.35  # a contract is amended (and again, at a third of that)
    amount_mismatch: float = 0.03  # an invoice is generated at another amount
    over_billed: float = 0.03  # a contract's invoices run past its value
    duplicate_invoice: float = 0.02  # an invoice reference is used again
    payment_sync: float = 0.3  # a paid invoice also syncs its payment to billing


ACTIVATION_VERSIONS = {
    "contract_approved": "clm",
    "customer_synced": "erp",  # the customer account the ERP bills against
    "billing_rules_published": "billing",
}
AMENDMENT_VERSIONS = {
    "amendment_approved": "clm",
    "billing_rules_updated": "billing",
    "erp_updated": "erp",
}


def plan_contract(
    rng: random.Random,
    number: int,
    started_at: datetime,
    behaviour: Behaviour | None = None,
    time_scale: float = 1.0,
    rates: ChainRates | None = None,
) -> list[list[Report]]:
    """Every transaction of one contract's chain (each its reports, in occurrence order),
    in the order they start. Transaction numbers are ``number * 20 + i``."""
    rates = rates or ChainRates()
    dims, currency = random_dims(rng)
    key = f"CT-{started_at.year}-{number:06d}"
    dims = {**dims, "contract": key}
    value = _amount(rng, 80_000)
    plans: list[list[Report]] = []
    seq = iter(range(number * 20, number * 20 + 20))

    def plan(journey: str, start: datetime, terms: Terms) -> list[Report]:
        reports = plan_transaction(
            rng, next(seq), start, behaviour, journey=journey, time_scale=time_scale, terms=terms
        )
        plans.append(reports)
        return reports

    versions = {stage: (system, "1") for stage, system in ACTIVATION_VERSIONS.items()}
    plan("contract_activation", started_at, Terms(dims, currency, value, versions=versions))
    moment, version = started_at, 1
    chance = rates.amendment
    while rng.random() < chance and version < 3:
        version += 1
        moment += rng.uniform(2, 15) * D * time_scale
        value = (value * Decimal(str(rng.uniform(1.1, 1.3)))).quantize(CENT)
        versions = {stage: (system, str(version)) for stage, system in AMENDMENT_VERSIONS.items()}
        plan("amendment", moment, Terms(dims, currency, value, versions=versions))
        chance /= 3
    _invoices(rng, started_at, dims, currency, value, rates, time_scale, plan)
    return sorted(plans, key=lambda reports: reports[0].occurred_at if reports else started_at)


def _invoices(rng, started_at, dims, currency, value, rates, time_scale, plan) -> None:
    count = rng.randint(2, 5)
    # Together the invoices bill most of the contract, or past it for an over-billed one.
    share = Decimal(str(rng.uniform(1.08, 1.2) if rng.random() < rates.over_billed else 0.85))
    each = (value * share / count).quantize(CENT)
    moment = started_at + rng.uniform(1, 3) * D * time_scale
    reference = ""
    for index in range(count):
        if not reference or rng.random() >= rates.duplicate_invoice:
            reference = f"F-{dims['contract'][3:]}-{index + 1}"
        amount = (each * Decimal(str(rng.uniform(0.8, 1.2)))).quantize(CENT)
        stage_amounts = {}
        if rng.random() < rates.amount_mismatch:
            off = Decimal(str(rng.choice([0.9, 0.95, 1.05, 1.1])))
            invoiced = (amount * off).quantize(CENT)
            # Generated at another amount than approved, and posted and paid as generated.
            stage_amounts = dict.fromkeys(
                ("invoice_generated", "invoice_posted", "payment_received"), invoiced
            )
        terms = Terms({**dims, "invoice": reference}, currency, amount, stage_amounts)
        reports = plan("billing", moment, terms)
        paid = any(r.stage == "payment_received" and r.status == "succeeded" for r in reports)
        if paid and rng.random() < rates.payment_sync:
            when = max(r.occurred_at for r in reports)
            plan("payment_sync", when, Terms({**dims, "invoice": reference}, currency, amount))
        moment += rng.uniform(3, 8) * D * time_scale
