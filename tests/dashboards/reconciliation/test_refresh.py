"""The reconciliation engine on one contract's chain: figures, versions and breaks."""

from datetime import timedelta
from decimal import Decimal

import pytest

from dashboards.models import BreakChange, Contract, ContractBreak
from dashboards.refresh import refresh
from tests.dashboards.helpers import TODAY, report, stamp

from .chain import CONTRACT, T0, send_chain, step

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


def open_kinds() -> set[str]:
    return set(ContractBreak.objects.filter(cleared_at=None).values_list("kind", flat=True))


def test_a_break_clears_when_a_later_report_settles_it_and_its_history_stays(
    ingest_client, time_machine
):
    send_chain(ingest_client)
    refresh(now=TODAY + timedelta(minutes=1))
    # The ERP catches up with v2; INV-1's invoice is re-issued at the approved 10,000.
    report(
        ingest_client,
        step("AMD-42-1", "amendment", "erp_updated", stamp(TODAY), "erp", "2"),
        step(
            "INV-1", "billing", "invoice_generated", stamp(TODAY), "billing",
            amount="10000.00", currency="EUR", invoice="F-001",
        ),
    )  # fmt: skip
    refresh(now=TODAY + timedelta(minutes=2))
    assert open_kinds() == {"unbilled", "duplicate_invoice"}
    cleared = ContractBreak.objects.exclude(cleared_at=None)
    assert set(cleared.values_list("kind", flat=True)) == {"version_mismatch", "amount_mismatch"}
    changes = BreakChange.objects.order_by("id").values_list("brk__kind", "change")
    assert ("amount_mismatch", "cleared") in list(changes)
    assert Contract.objects.get().versions == {"clm": "2", "billing": "2", "erp": "2"}


def test_a_break_that_comes_due_with_no_report_is_found_when_its_time_comes(
    ingest_client, time_machine
):
    report(
        ingest_client,
        step("INV-7", "billing", "work_approved", stamp(TODAY - timedelta(hours=1)), "psa",
             amount="700.00", currency="EUR"),
    )  # fmt: skip
    refresh(now=TODAY + timedelta(minutes=1))
    assert open_kinds() == set()
    later = TODAY + timedelta(days=2)
    time_machine.move_to(later)
    refresh(now=later)  # nothing new was reported: the contract feed brought it back
    assert open_kinds() == {"unbilled"}


def test_a_transaction_moved_to_another_contract_leaves_its_breaks_behind(ingest_client):
    send_chain(ingest_client)
    refresh(now=TODAY + timedelta(minutes=1))
    report(
        ingest_client,
        step("INV-2", "billing", "work_approved", stamp(TODAY), "psa", contract="C-43"),
    )
    refresh(now=TODAY + timedelta(minutes=2))
    old = ContractBreak.objects.filter(contract__key=CONTRACT, cleared_at=None)
    assert "unbilled" not in set(old.values_list("kind", flat=True))
    assert Contract.objects.get(key="C-43").transactions == 1
