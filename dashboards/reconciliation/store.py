"""Write reconciled contracts: their figures, their breaks (opened, changed, cleared, each
with an outbox row for the exception queue) and their transactions' membership.

A break found again under the same key is the same break: its amount or detail may change,
and it stays open until a reconciliation no longer finds it; then it is cleared, and kept.
Only what differs from the stored rows is written, in one statement per table (COPY into a
staging table, then one INSERT ... ON CONFLICT): most reconciliations change little.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracking.batch_sql import insert, register_staging, rows_by_keys, upsert

from ..fx import Rates
from ..models import BreakChange, Contract, ContractBreak, ContractMember
from ..models.contracts import FIGURES
from .chains import Chains
from .terms import Break, Reconciled

# What a contract row holds besides its key; ``reconciled_at``: when its figures last moved.
_FIGURE_FIELDS = [
    "customer",
    "region",
    "business_unit",
    "legal_entity",
    "currency",
    "versions",
    *FIGURES,
    "reporting",
    "transactions",
    "open_breaks",
    "break_amount",
]
_CONTRACT_COLUMNS = ["key", *_FIGURE_FIELDS, "reconciled_at"]
# What a person sees of a break: a change to any of these is news for its case.
_BREAK_SEEN = [
    "amount",
    "currency",
    "amount_reporting",
    "rank_amount",
    "correlation_id",
    "transaction",
    "stage",
    "detail",
    "since",
]
_BREAK_COLUMNS = ["contract", "key", "kind", *_BREAK_SEEN, "found_at"]
_OUTBOX_COLUMNS = ["brk", "change", "at"]
_MEMBER_COLUMNS = ["transaction", "contract"]
register_staging(Contract, _CONTRACT_COLUMNS)
register_staging(ContractBreak, _BREAK_COLUMNS)
register_staging(BreakChange, _OUTBOX_COLUMNS)
register_staging(ContractMember, _MEMBER_COLUMNS)


@dataclass
class Stored:
    contracts: int = 0
    written: int = 0  # contract rows whose figures moved
    opened: int = 0
    changed: int = 0
    cleared: int = 0


def store(results: list[Reconciled], chains: Chains, rates: Rates, now: datetime) -> Stored:
    stored = Stored(contracts=len(results))
    if not results:
        return stored
    priced = {r.contract: [(b, _price(b, rates)) for b in r.breaks] for r in results}
    ids, stored.written = _write_contracts(results, chains, priced, rates, now)
    new, changed, gone = _diff_breaks(results, priced, ids, chains, now)
    outbox = [(i, BreakChange.OPENED, now) for i in new]
    outbox += [(i, BreakChange.CHANGED, now) for i in changed]
    outbox += [(i, BreakChange.CLEARED, now) for i in gone]
    insert(BreakChange, _OUTBOX_COLUMNS, outbox)
    _write_members(chains)
    stored.opened, stored.changed, stored.cleared = len(new), len(changed), len(gone)
    return stored


def _price(brk: Break, rates: Rates) -> Decimal | None:
    return rates.convert(brk.amount, brk.currency, brk.since.date())


def _contract_row(result: Reconciled, chains: Chains, breaks, rates: Rates, now) -> tuple:
    reporting = {
        name: _text(rates.convert(result.amounts.get(name), result.currency, now.date()))
        for name in FIGURES
    }
    return (
        result.contract,
        result.customer,
        result.region,
        result.business_unit,
        result.legal_entity,
        result.currency,
        result.versions,
        *(result.amounts.get(name) for name in FIGURES),
        reporting,
        len(chains.txns.get(result.contract, [])),
        len(breaks),
        sum((r or Decimal(0) for _, r in breaks), Decimal(0)),
    )


def _write_contracts(results, chains, priced, rates, now) -> tuple[dict[str, int], int]:
    """Write the contracts whose figures moved; every contract's id, and how many moved."""
    held = {
        key: (row_id, tuple(values))
        for row_id, key, *values in rows_by_keys(
            Contract, "key", [r.contract for r in results], ["id", "key", *_FIGURE_FIELDS]
        )
    }
    rows = []
    for result in results:
        row = _contract_row(result, chains, priced[result.contract], rates, now)
        known = held.get(result.contract)
        # The "reporting" amounts move with the FX rate of the day; a rate's change of a
        # cent rewrites the row, which is right: the figure shown moved.
        if known is None or known[1] != row[1:]:
            rows.append((*row, now))
    written = upsert(
        Contract,
        _CONTRACT_COLUMNS,
        rows,
        conflict=["key"],
        update=_CONTRACT_COLUMNS[1:],
        returning=["key", "id"],
    )
    ids = {key: row_id for key, (row_id, _) in held.items()}
    ids.update(dict(written))
    return ids, len(rows)


def _break_row(contract_id: int, brk: Break, reporting, chains: Chains) -> tuple:
    """A break as ``_BREAK_COLUMNS`` holds it, but for ``found_at``."""
    return (
        contract_id,
        brk.key,
        brk.kind,
        brk.amount,
        brk.currency,
        reporting,
        reporting or Decimal(0),
        brk.correlation_id,
        chains.ids.get(brk.correlation_id),
        brk.stage,
        brk.detail,
        brk.since,
    )


def _diff_breaks(results, priced, ids, chains, now) -> tuple[list[int], list[int], list[int]]:
    """Open the new breaks, update the changed, clear the gone: their ids, by what happened."""
    open_now = {
        (row[1], row[2]): row
        for row in ContractBreak.objects.filter(
            contract_id__in=list(ids.values()), cleared_at=None
        ).values_list("id", "contract_id", "key", *_BREAK_SEEN_ATTNAMES)
    }
    fresh, changed = [], []
    for result in results:
        contract_id = ids[result.contract]
        for brk, reporting in priced[result.contract]:
            row = _break_row(contract_id, brk, reporting, chains)
            known = open_now.pop((contract_id, brk.key), None)
            if known is None:
                fresh.append((*row, now))
            elif tuple(known[3:]) != row[3:]:
                changed.append((known[0], row))
    new = [
        row_id
        for (row_id,) in upsert(
            ContractBreak,
            _BREAK_COLUMNS,
            fresh,
            conflict=["contract", "key"],
            conflict_where="cleared_at IS NULL",
            returning=["id"],
        )
    ]
    for row_id, row in changed:
        ContractBreak.objects.filter(id=row_id).update(
            **dict(zip(_BREAK_SEEN_ATTNAMES, row[3:], strict=True))
        )
    gone = [row[0] for row in open_now.values()]
    ContractBreak.objects.filter(id__in=gone).update(cleared_at=now)
    return new, [row_id for row_id, _ in changed], gone


_BREAK_SEEN_ATTNAMES = [ContractBreak._meta.get_field(name).attname for name in _BREAK_SEEN]


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _write_members(chains: Chains) -> None:
    """Record each transaction's contract where it is new or moved."""
    held = dict(
        rows_by_keys(
            ContractMember, "transaction", list(chains.contract_of), ["transaction", "contract"]
        )
    )
    moved = [(t, k) for t, k in chains.contract_of.items() if held.get(t) != k]
    upsert(
        ContractMember,
        _MEMBER_COLUMNS,
        moved,
        conflict=["transaction"],
        update=["contract"],
    )
