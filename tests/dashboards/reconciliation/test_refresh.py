"""The reconciliation engine on one contract's chain: figures, versions and breaks."""

from datetime import timedelta
from decimal import Decimal

import pytest

from dashboards.models import Contract, ContractBreak
from dashboards.refresh import refresh
from tests.dashboards.helpers import TODAY

from .chain import CONTRACT, T0, send_chain

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]


def test_a_chain_gives_its_versions_amounts_and_four_breaks(ingest_client):
    send_chain(ingest_client)
    refresh(now=TODAY + timedelta(minutes=1))
    contract = Contract.objects.get(key=CONTRACT)
    assert contract.versions == {"clm": "2", "billing": "2", "erp": "1"}
    assert contract.currency == "EUR"
    figures = ("contracted", "approved", "invoiced", "posted", "paid")
    assert {f: getattr(contract, f) for f in figures} == {
        "contracted": Decimal("120000.00"),
        "approved": Decimal("21000.00"),
        "invoiced": Decimal("15000.00"),
        "posted": Decimal("0.00"),
        "paid": Decimal("0.00"),
    }
    breaks = {
        b.kind: (b.amount, b.correlation_id, b.stage)
        for b in ContractBreak.objects.filter(cleared_at=None)
    }
    assert breaks == {
        "version_mismatch": (Decimal("20000.00"), "AMD-42-1", "billing_rules_updated"),
        "amount_mismatch": (Decimal("1000.00"), "INV-1", "invoice_generated"),
        "unbilled": (Decimal("5000.00"), "INV-2", "invoice_generated"),
        "duplicate_invoice": (Decimal("3000.00"), "INV-4", "invoice_generated"),
    }
    mismatch = ContractBreak.objects.get(kind="version_mismatch")
    assert mismatch.since == T0 + timedelta(days=5)
    assert mismatch.detail == "billing and clm hold v2; erp still holds v1"
    assert (contract.open_breaks, contract.transactions) == (4, 6)
