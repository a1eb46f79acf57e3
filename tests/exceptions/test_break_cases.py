"""Each reconciliation break opens a case of its kind, routed like any case, worth the
break's amount; it is resolved by itself when the break clears; alert rules can fire on a
kind of break above an amount."""

from datetime import timedelta
from decimal import Decimal

import pytest

from dashboards.refresh import refresh
from exceptions import break_intake, intake
from exceptions.models import Alert, AlertRule, Channel, ExceptionCase, OwnershipRule
from tests.dashboards.helpers import TODAY, report, stamp
from tests.dashboards.reconciliation.chain import send_chain, step

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]


def work(now=None) -> None:
    refresh(now=now or TODAY + timedelta(minutes=1))
    intake.consume()
    break_intake.consume()


def break_cases() -> dict[str, tuple]:
    return {
        c.kind: (c.correlation_id, c.stage.slug, c.status, c.amount, c.team)
        for c in ExceptionCase.objects.exclude(break_key="").select_related("stage")
    }


def test_each_break_opens_a_case_of_its_kind(ingest_client, flow):
    OwnershipRule.objects.create(
        position=1,
        name="Mismatches to billing ops",
        error_code="amount_mismatch",
        team="billing-ops",
    )
    send_chain(ingest_client)
    work()
    # EUR at 1.10 on the chain's first day.
    billing_ops = "billing-ops"
    assert break_cases() == {
        "version_mismatch": ("AMD-42-1", "billing_rules_updated", "open", Decimal("22000.00"),
                             "billing"),
        "amount_mismatch": ("INV-1", "invoice_generated", "open", Decimal("1100.00"), billing_ops),
        "unbilled": ("INV-2", "invoice_generated", "open", Decimal("5500.00"), "billing"),
        "duplicate_invoice": ("INV-4", "invoice_generated", "open", Decimal("3300.00"), "billing"),
    }  # fmt: skip
    # Running the intake again opens nothing more.
    break_intake.consume()
    assert ExceptionCase.objects.exclude(break_key="").count() == 4


def test_a_cleared_break_resolves_its_case_and_a_stages_failure_is_its_own_case(
    ingest_client, flow
):
    send_chain(ingest_client)
    work()
    report(
        ingest_client,
        step("INV-1", "billing", "invoice_posted", stamp(TODAY), "erp", status="failed"),
        step(
            "INV-1", "billing", "invoice_generated", stamp(TODAY), "billing",
            amount="10000.00", currency="EUR",
        ),
    )  # fmt: skip
    work(TODAY + timedelta(minutes=2))
    mismatch = ExceptionCase.objects.get(kind="amount_mismatch")
    assert (mismatch.status, mismatch.resolved_by) == ("resolved", "system")
    assert mismatch.resolution.startswith("Resolved by itself: the break cleared")
    failed = ExceptionCase.objects.get(kind="failed")
    assert (failed.correlation_id, failed.stage.slug) == ("INV-1", "invoice_posted")


def test_alert_rules_fire_on_a_kind_of_break_above_an_amount(ingest_client, flow):
    channel = Channel.objects.create(
        kind="webhook", team="billing", config={"url": "http://127.0.0.1:9/x"}
    )
    rule = AlertRule.objects.create(
        name="Large unbilled work", kind="new_exception", case_kind="unbilled", min_amount=5000
    )
    small = AlertRule.objects.create(
        name="Huge duplicates",
        kind="new_exception",
        case_kind="duplicate_invoice",
        min_amount=10000,
    )
    send_chain(ingest_client)
    work()
    fired = Alert.objects.filter(rule__in=[rule, small], channel=channel)
    assert [(a.rule.name, a.case.kind) for a in fired] == [("Large unbilled work", "unbilled")]


def test_a_break_cases_page_links_its_contract(ingest_client, flow, operator):
    from tests.conftest import browser

    send_chain(ingest_client)
    work()
    case = ExceptionCase.objects.get(kind="unbilled")
    html = browser(operator).get(f"/exceptions/{case.pk}/").content.decode()
    assert 'href="/contracts/C-42/#breaks"' in html
    assert "Approved work not invoiced on contract" in html
