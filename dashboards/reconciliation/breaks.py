"""The breaks of a contract's chain (docs/reconciliation.md), each keyed so that the same
break found again is the same: ``version_mismatch``, ``amount_mismatch``, ``unbilled``,
``over_billed``, ``duplicate_invoice``. Pure, like ``rules``."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .terms import (
    PAIRS,
    ZERO,
    Break,
    Exchange,
    Reconciled,
    Rules,
    TxnFacts,
    VersionReport,
    in_currency,
)


def _version(label: str) -> str:
    return label if label[:1].isalpha() else f"v{label}"


def _who_holds_what(held: dict[str, str], newest: str) -> str:
    """ "billing and clm hold v2; erp still holds v1" """
    by_version: dict[str, list[str]] = {}
    for system, version in sorted(held.items()):
        by_version.setdefault(version, []).append(system)
    parts = []
    for version in sorted(by_version, key=lambda v: (v != newest, v)):
        systems = by_version[version]
        names = " and ".join(
            [", ".join(systems[:-1]), systems[-1]] if len(systems) > 1 else systems
        )
        verb = (
            ("hold" if len(systems) > 1 else "holds")
            if version == newest
            else ("still hold" if len(systems) > 1 else "still holds")
        )
        parts.append(f"{names} {verb} {_version(version)}")
    return "; ".join(parts)


@dataclass
class Checks:
    result: Reconciled
    rules: Rules
    now: datetime

    def _add(self, brk: Break) -> None:
        self.result.breaks.append(brk)

    def _later(self, moment: datetime) -> None:
        if moment > self.now and (
            self.result.recheck_at is None or moment < self.result.recheck_at
        ):
            self.result.recheck_at = moment

    def versions(
        self,
        reports: list[VersionReport],
        contracted: Decimal | None,
        txns: dict[str, TxnFacts],
    ) -> None:
        """Systems holding different versions, for longer than the grace period. The break
        concerns the transaction that reported the newest version, at its current stage."""
        held: dict[str, str] = {}
        since: datetime | None = None
        newest: VersionReport | None = None
        for report in sorted(reports, key=lambda r: (r.at, r.event_id)):
            held[report.system] = report.version
            if newest is None or report.at >= newest.at:
                newest = report
            # The mismatch runs from the report that broke agreement until one restores it.
            since = (since or report.at) if len(set(held.values())) > 1 else None
        if since is None or newest is None:
            return
        due = since + self.rules.version_grace
        if due > self.now:
            self._later(due)
            return
        values = {r.version: r.value for r in reports if r.value is not None}
        known = [values.get(v) for v in set(held.values())]
        if all(v is not None for v in known):
            amount = max(known) - min(known)  # type: ignore[type-var,operator]
        else:
            amount = contracted if contracted is not None else ZERO
        self._add(
            Break(
                key="version_mismatch",
                kind="version_mismatch",
                amount=amount,
                currency=self.result.currency,
                correlation_id=newest.correlation_id,
                stage=txns[newest.correlation_id].stage if newest.correlation_id in txns else "",
                detail=_who_holds_what(held, newest.version),
                since=since,
            )
        )

    def amounts(self, billing: list[TxnFacts]) -> None:
        """A later stage reporting another amount than the earlier one."""
        for txn in billing:
            for earlier, later, name_a, name_b in PAIRS:
                a, b = txn.stage_amounts.get(earlier), txn.stage_amounts.get(later)
                if (
                    a is None
                    or b is None
                    or (a.currency and b.currency and a.currency != b.currency)
                ):
                    continue
                difference = b.amount - a.amount
                if abs(difference) <= self.rules.tolerance:
                    continue
                self._add(
                    Break(
                        key=f"amount_mismatch:{txn.correlation_id}:{later}",
                        kind="amount_mismatch",
                        amount=abs(difference),
                        currency=b.currency or a.currency,
                        correlation_id=txn.correlation_id,
                        stage=later,
                        detail=f"{name_a} {a.amount:,.2f}, {name_b} {b.amount:,.2f} {b.currency}",
                        since=b.at,
                    )
                )

    def unbilled(self, billing: list[TxnFacts]) -> None:
        """Work approved and not invoiced past the stage's deadline."""
        wait = self.rules.unbilled_wait
        if wait is None:
            return
        for txn in billing:
            approved = txn.stage_amounts.get("work_approved")
            approved_at = txn.approved_at
            if approved is None or approved_at is None or txn.invoiced:
                continue
            due = approved_at + wait
            if due > self.now:
                self._later(due)
                continue
            self._add(
                Break(
                    key=f"unbilled:{txn.correlation_id}",
                    kind="unbilled",
                    amount=approved.amount,
                    currency=approved.currency,
                    correlation_id=txn.correlation_id,
                    stage="invoice_generated",
                    detail=(
                        f"work of {approved.amount:,.2f} {approved.currency} approved "
                        f"{approved_at:%Y-%m-%d}, not invoiced by {due:%Y-%m-%d %H:%M}"
                    ),
                    since=due,
                )
            )

    def over_billed(
        self, billing: list[TxnFacts], contracted: Decimal | None, exchange: Exchange
    ) -> None:
        """Invoiced beyond the contracted value: by how much in all, since the invoice that
        first went over (the break's transaction)."""
        if contracted is None:
            return
        invoices = sorted(
            (
                (t, t.stage_amounts["invoice_generated"])
                for t in billing
                if "invoice_generated" in t.stage_amounts
            ),
            key=lambda pair: (pair[1].at, pair[1].event_id),
        )
        running, tipping = ZERO, None
        for txn, invoice in invoices:
            value = in_currency(invoice, self.result.currency, exchange)
            if value is None:
                return  # an invoice with no FX rate: the total is not known
            running += value
            if tipping is None and running - contracted > self.rules.tolerance:
                tipping = (txn, invoice)
        if tipping is None:
            return
        txn, invoice = tipping
        self._add(
            Break(
                key="over_billed",
                kind="over_billed",
                amount=running - contracted,
                currency=self.result.currency,
                correlation_id=txn.correlation_id,
                stage="invoice_generated",
                detail=(
                    f"invoiced {running:,.2f} against a contracted {contracted:,.2f} "
                    f"{self.result.currency}"
                ),
                since=invoice.at,
            )
        )

    def duplicates(self, billing: list[TxnFacts]) -> None:
        """One invoice reference on two transactions, or one invoice posted twice."""
        by_invoice: dict[str, list[TxnFacts]] = {}
        for txn in billing:
            if txn.invoice:
                by_invoice.setdefault(txn.invoice, []).append(txn)
        for invoice, sharing in sorted(by_invoice.items()):
            first = sharing[0]
            for copy in sharing[1:]:
                self._add(
                    self._duplicate(copy, f"invoice {invoice} is also on {first.correlation_id}")
                )
        for txn in billing:
            if txn.posted > 1:
                self._add(
                    self._duplicate(
                        txn,
                        f"invoice {txn.invoice or txn.correlation_id} posted {txn.posted} times",
                        key="posted_twice",
                    )
                )

    def _duplicate(self, txn: TxnFacts, detail: str, key: str = "shared") -> Break:
        held = (
            txn.stage_amounts.get("invoice_generated")
            or txn.stage_amounts.get("invoice_posted")
            or txn.stage_amounts.get("work_approved")
        )
        return Break(
            key=f"duplicate_invoice:{txn.correlation_id}:{key}",
            kind="duplicate_invoice",
            amount=held.amount if held else ZERO,
            currency=held.currency if held else self.result.currency,
            correlation_id=txn.correlation_id,
            stage="invoice_posted" if key == "posted_twice" else "invoice_generated",
            detail=detail,
            since=txn.started_at,
        )
