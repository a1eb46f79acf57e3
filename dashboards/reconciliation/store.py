"""Write reconciled contracts: their figures, their breaks (opened, changed, cleared, each
with an outbox row for the exception queue) and their transactions' membership.

A break found again under the same key is the same break: its amount or detail may change,
and it stays open until a reconciliation no longer finds it; then it is cleared, and kept.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..fx import Rates
from ..models import BreakChange, Contract, ContractBreak, ContractMember
from ..models.contracts import FIGURES
from .chains import Chains
from .terms import Break, Reconciled

_CONTRACT_FIELDS = [
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
    "reconciled_at",
]


@dataclass
class Stored:
    contracts: int = 0
    opened: int = 0
    changed: int = 0
    cleared: int = 0


def store(results: list[Reconciled], chains: Chains, rates: Rates, now: datetime) -> Stored:
    stored = Stored(contracts=len(results))
    if not results:
        return stored
    priced = {r.contract: [_priced(b, rates) for b in r.breaks] for r in results}
    ids = _write_contracts(results, chains, priced, rates, now)
    open_now = {
        (b.contract_id, b.key): b
        for b in ContractBreak.objects.filter(contract_id__in=ids.values(), cleared_at=None)
    }
    new, changed, outbox = [], [], []
    for result in results:
        contract_id = ids[result.contract]
        for brk, reporting in priced[result.contract]:
            held = open_now.pop((contract_id, brk.key), None)
            if held is None:
                new.append(_new_break(contract_id, brk, reporting, chains, now))
            elif _update(held, brk, reporting, chains):
                changed.append(held)
    ContractBreak.objects.bulk_create(new)
    outbox += [BreakChange(brk=b, change=BreakChange.OPENED, at=now) for b in new]
    ContractBreak.objects.bulk_update(changed, _BREAK_FIELDS)
    outbox += [BreakChange(brk=b, change=BreakChange.CHANGED, at=now) for b in changed]
    gone = list(open_now.values())
    for brk in gone:
        brk.cleared_at = now
    ContractBreak.objects.bulk_update(gone, ["cleared_at"])
    outbox += [BreakChange(brk=b, change=BreakChange.CLEARED, at=now) for b in gone]
    BreakChange.objects.bulk_create(outbox)
    _write_members(chains)
    stored.opened, stored.changed, stored.cleared = len(new), len(changed), len(gone)
    return stored


def _priced(brk: Break, rates: Rates) -> tuple[Break, Decimal | None]:
    return brk, rates.convert(brk.amount, brk.currency, brk.since.date())


def _write_contracts(
    results: list[Reconciled],
    chains: Chains,
    priced: dict[str, list[tuple[Break, Decimal | None]]],
    rates: Rates,
    now: datetime,
) -> dict[str, int]:
    rows = []
    for result in results:
        breaks = priced[result.contract]
        rows.append(
            Contract(
                key=result.contract,
                customer=result.customer,
                region=result.region,
                business_unit=result.business_unit,
                legal_entity=result.legal_entity,
                currency=result.currency,
                versions=result.versions,
                **{name: result.amounts.get(name) for name in FIGURES},
                reporting={
                    name: _text(
                        rates.convert(result.amounts.get(name), result.currency, now.date())
                    )
                    for name in FIGURES
                },
                transactions=len(chains.txns.get(result.contract, [])),
                open_breaks=len(breaks),
                break_amount=sum((r or Decimal(0) for _, r in breaks), Decimal(0)),
                reconciled_at=now,
            )
        )
    Contract.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["key"], update_fields=_CONTRACT_FIELDS
    )
    return dict(
        Contract.objects.filter(key__in=[r.contract for r in results]).values_list("key", "id")
    )


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


_BREAK_FIELDS = ["amount", "currency", "amount_reporting", "rank_amount", "correlation_id",
                 "transaction", "stage", "detail", "since"]  # fmt: skip


def _new_break(
    contract_id: int, brk: Break, reporting: Decimal | None, chains: Chains, now: datetime
) -> ContractBreak:
    return ContractBreak(
        contract_id=contract_id,
        key=brk.key,
        kind=brk.kind,
        amount=brk.amount,
        currency=brk.currency,
        amount_reporting=reporting,
        rank_amount=reporting or 0,
        correlation_id=brk.correlation_id,
        transaction_id=chains.ids.get(brk.correlation_id),
        stage=brk.stage,
        detail=brk.detail,
        since=brk.since,
        found_at=now,
    )


def _update(held: ContractBreak, brk: Break, reporting: Decimal | None, chains: Chains) -> bool:
    """Bring an open break up to date; whether anything a person would see changed."""
    values = {
        "amount": brk.amount,
        "currency": brk.currency,
        "amount_reporting": reporting,
        "rank_amount": reporting or 0,
        "correlation_id": brk.correlation_id,
        "transaction_id": chains.ids.get(brk.correlation_id),
        "stage": brk.stage,
        "detail": brk.detail,
        "since": brk.since,
    }
    if all(getattr(held, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(held, name, value)
    return True


def _write_members(chains: Chains) -> None:
    ContractMember.objects.bulk_create(
        [ContractMember(transaction_id=t, contract=k) for t, k in chains.contract_of.items()],
        update_conflicts=True,
        unique_fields=["transaction"],
        update_fields=["contract"],
    )
