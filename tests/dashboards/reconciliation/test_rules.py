"""The rules on their own: what each break means, in numbers (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dashboards.reconciliation.rules import reconcile
from dashboards.reconciliation.terms import Rules, StageAmount, TxnFacts, VersionReport

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
RULES = Rules(
    version_grace=timedelta(hours=4), tolerance=Decimal("0.01"), unbilled_wait=timedelta(days=2)
)
RATES = {"EUR": Decimal("1.10"), "USD": Decimal(1)}  # units of USD (reporting) per unit


def exchange(amount: Decimal, source: str, target: str, day) -> Decimal | None:
    if source not in RATES or target not in RATES:
        return None
    return (amount * RATES[source] / RATES[target]).quantize(Decimal("0.01"))


def amount(value: str, hours: float, currency: str = "EUR", eid: str = "") -> StageAmount:
    return StageAmount(Decimal(value), currency, NOW - timedelta(hours=hours), eid or f"e{hours}")


def txn(cid: str, journey: str = "billing", **amounts: StageAmount) -> TxnFacts:
    return TxnFacts(
        correlation_id=cid,
        journey=journey,
        stage=list(amounts)[-1] if amounts else "",
        started_at=min((a.at for a in amounts.values()), default=NOW),
        stage_amounts=amounts,
        approved_at=amounts["work_approved"].at if "work_approved" in amounts else None,
        invoiced="invoice_generated" in amounts,
    )


def run(txns: list[TxnFacts], reports: list[VersionReport] = ()):  # type: ignore[assignment]
    return reconcile("C-1", txns, list(reports), RULES, exchange, "USD", NOW)


def kinds(result) -> dict[str, tuple]:
    return {b.kind: (b.amount, b.correlation_id) for b in result.breaks}


ACTIVATION = txn("SOW-1", "contract_activation", contract_approved=amount("100.00", 100))


def test_invoicing_past_the_contract_is_over_billed_from_the_invoice_that_went_over():
    result = run(
        [
            ACTIVATION,
            txn("INV-1", work_approved=amount("60", 50), invoice_generated=amount("60", 49)),
            txn("INV-2", work_approved=amount("50", 40), invoice_generated=amount("50", 39)),
        ]
    )
    assert result.amounts["invoiced"] == Decimal("110.00")
    assert kinds(result) == {"over_billed": (Decimal("10.00"), "INV-2")}


def test_amounts_in_other_currencies_count_at_their_rate():
    result = run([ACTIVATION, txn("INV-1", work_approved=amount("11.00", 50, "USD"))])
    assert result.currency == "EUR"
    assert result.amounts["approved"] == Decimal("10.00")  # 11 USD at 1.10 USD a euro


def test_an_amount_with_no_rate_leaves_its_figure_unknown_not_wrong():
    result = run([ACTIVATION, txn("INV-1", work_approved=amount("5.00", 50, "XAU"))])
    assert result.amounts["approved"] is None


def test_an_invoice_posted_twice_is_a_duplicate():
    posted = TxnFacts(
        correlation_id="INV-9",
        journey="billing",
        stage="invoice_posted",
        started_at=NOW - timedelta(days=3),
        invoice="F-9",
        stage_amounts={"invoice_posted": amount("70.00", 20)},
        approved_at=NOW - timedelta(days=3),
        invoiced=True,
        posted=2,
    )
    assert kinds(run([ACTIVATION, posted])) == {"duplicate_invoice": (Decimal("70.00"), "INV-9")}


def test_a_difference_within_the_tolerance_is_no_break():
    result = run(
        [txn("INV-1", work_approved=amount("100.00", 5), invoice_generated=amount("100.01", 4))]
    )
    assert result.breaks == []


def test_versions_apart_within_the_grace_period_are_no_break_yet_but_a_recheck():
    reports = [
        VersionReport("clm", "2", NOW - timedelta(hours=1), "a", "AMD-1", Decimal("120"), "EUR"),
        VersionReport("erp", "1", NOW - timedelta(days=3), "b", "SOW-1"),
    ]
    result = run([ACTIVATION], reports)
    assert result.breaks == []
    assert result.recheck_at == NOW + timedelta(hours=3)


def test_a_mismatch_of_versions_of_unknown_value_is_worth_the_contract():
    reports = [
        VersionReport("clm", "3", NOW - timedelta(hours=5), "a", "SOW-1"),
        VersionReport("erp", "1", NOW - timedelta(days=3), "b", "SOW-1"),
    ]
    assert kinds(run([ACTIVATION], reports)) == {"version_mismatch": (Decimal("100.00"), "SOW-1")}


def test_approved_work_before_its_deadline_is_rechecked_then():
    result = run([txn("INV-1", work_approved=amount("10.00", 24))])
    assert result.breaks == []
    assert result.recheck_at == NOW + timedelta(hours=24)
