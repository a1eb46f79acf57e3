"""One contract's chain as the issue tells it, for the reconciliation tests: activation v1
on every system, an amendment to v2 that reaches billing but not the ERP, an invoice
approved at 10,000 and generated at 9,000, work of 5,000 approved ten days ago and never
invoiced, and one invoice reference on two transactions."""

from datetime import timedelta
from decimal import Decimal

from dashboards.models import FxRate
from tests.dashboards.helpers import TODAY, report, stamp
from tests.tracking.factories import event

T0 = TODAY - timedelta(days=20)
CONTRACT = "C-42"


def at(days: float) -> str:
    return stamp(T0 + timedelta(days=days))


def step(cid, journey, stage, when, system="", version="", **extra) -> dict:
    extra = {"contract": CONTRACT, "customer": "Globex", "region": "EMEA", **extra}
    if system:
        extra["system"] = system
    if version:
        extra["contract_version"] = version
    return event(stage, correlation_id=cid, journey=journey, occurred_at=when, **extra)


def send_chain(client) -> None:
    FxRate.objects.get_or_create(date=T0.date(), currency="EUR", defaults={"rate": Decimal("1.10")})
    report(
        client,
        # Activation: v1 on the CLM, the ERP (customer synced there) and billing.
        step("SOW-42", "contract_activation", "contract_approved", at(0), "clm", "1",
             amount="100000.00", currency="EUR"),
        step("SOW-42", "contract_activation", "customer_synced", at(0.1), "erp", "1"),
        step("SOW-42", "contract_activation", "project_activated", at(0.2), "psa"),
        step("SOW-42", "contract_activation", "billing_rules_published", at(0.3), "billing", "1"),
        # Amendment to v2 (120,000): billing has it, the ERP never got it.
        step("AMD-42-1", "amendment", "amendment_approved", at(5), "clm", "2",
             amount="120000.00", currency="EUR"),
        step("AMD-42-1", "amendment", "billing_rules_updated", at(5.1), "billing", "2"),
        # Approved at 10,000, invoiced at 9,000.
        step("INV-1", "billing", "work_approved", at(6), "psa", amount="10000.00", currency="EUR"),
        step("INV-1", "billing", "invoice_generated", at(6.1), "billing",
             amount="9000.00", currency="EUR", invoice="F-001"),
        # 5,000 approved ten days ago, never invoiced.
        step("INV-2", "billing", "work_approved", stamp(TODAY - timedelta(days=10)), "psa",
             amount="5000.00", currency="EUR"),
        # One invoice reference on two transactions.
        step("INV-3", "billing", "work_approved", at(7), "psa", amount="3000.00", currency="EUR"),
        step("INV-3", "billing", "invoice_generated", at(7.1), "billing",
             amount="3000.00", currency="EUR", invoice="F-100"),
        step("INV-4", "billing", "work_approved", at(8), "psa", amount="3000.00", currency="EUR"),
        step("INV-4", "billing", "invoice_generated", at(8.1), "billing",
             amount="3000.00", currency="EUR", invoice="F-100"),
    )  # fmt: skip
