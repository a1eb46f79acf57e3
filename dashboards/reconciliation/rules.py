"""What a contract's chain says, from its transactions and its systems' version reports: the
contract's figures and its breaks. Pure functions: no database, so the same rules serve the
incremental refresh, a from-scratch recomputation and the tests that compare the two.

Figures, in the contract's currency (that of its latest approved version):
- ``contracted``: the value of the latest approved version (a ``contract_approved`` or
  ``amendment_approved`` amount);
- ``approved``, ``invoiced``, ``posted``, ``paid``: sums over the contract's billing
  transactions of their ``work_approved``, ``invoice_generated``, ``invoice_posted`` and
  ``payment_received`` amounts.

The breaks are found by ``breaks.Checks``; docs/reconciliation.md explains each.
"""

from datetime import datetime
from decimal import Decimal

from .breaks import Checks
from .terms import (
    APPROVALS,
    BILLING,
    FIGURES,
    ZERO,
    Exchange,
    Reconciled,
    Rules,
    StageAmount,
    TxnFacts,
    VersionReport,
    in_currency,
)


def reconcile(
    contract: str,
    txns: list[TxnFacts],
    reports: list[VersionReport],
    rules: Rules,
    exchange: Exchange,
    default_currency: str,
    now: datetime,
) -> Reconciled:
    txns = sorted(txns, key=lambda t: (t.started_at, t.correlation_id))
    approval = _latest_approval(txns)
    currency = approval.currency if approval else _first_currency(txns) or default_currency
    result = Reconciled(contract=contract, currency=currency, **_describe(txns))
    result.versions = {r.system: r.version for r in _latest_per_system(reports)}
    billing = [t for t in txns if t.journey == BILLING]
    result.amounts = _amounts(approval, billing, currency, exchange)
    checks = Checks(result, rules, now)
    checks.versions(reports, result.amounts["contracted"], {t.correlation_id: t for t in txns})
    checks.amounts(billing)
    checks.unbilled(billing)
    checks.over_billed(billing, result.amounts["contracted"], exchange)
    checks.duplicates(billing)
    result.breaks.sort(key=lambda b: (-b.amount, b.key))
    return result


def _latest_approval(txns: list[TxnFacts]) -> StageAmount | None:
    found = [
        t.stage_amounts[stage]
        for t in txns
        if (stage := APPROVALS.get(t.journey)) and stage in t.stage_amounts
    ]
    return max(found, key=lambda a: (a.at, a.event_id), default=None)


def _first_currency(txns: list[TxnFacts]) -> str:
    return next((a.currency for t in txns for a in t.stage_amounts.values() if a.currency), "")


def _describe(txns: list[TxnFacts]) -> dict[str, str]:
    """Customer and dimensions: the latest transaction's that names each."""
    described = {}
    for name in ("customer", "region", "business_unit", "legal_entity"):
        described[name] = next((v for t in reversed(txns) if (v := getattr(t, name))), "")
    return described


def _latest_per_system(reports: list[VersionReport]) -> list[VersionReport]:
    latest: dict[str, VersionReport] = {}
    for report in sorted(reports, key=lambda r: (r.at, r.event_id)):
        latest[report.system] = report
    return [latest[system] for system in sorted(latest)]


def _amounts(
    approval: StageAmount | None, billing: list[TxnFacts], currency: str, exchange: Exchange
) -> dict[str, Decimal | None]:
    amounts: dict[str, Decimal | None] = {
        "contracted": None if approval is None else in_currency(approval, currency, exchange)
    }
    for stage, figure in FIGURES.items():
        total: Decimal | None = ZERO
        for txn in billing:
            held = txn.stage_amounts.get(stage)
            if held is None:
                continue
            value = in_currency(held, currency, exchange)
            # An amount with no FX rate leaves the figure unknown rather than wrong.
            total = None if value is None or total is None else total + value
        amounts[figure] = total
    return amounts
