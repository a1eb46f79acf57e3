"""Reconciliation figures for the summary, the overview and the pages: the open breaks, in
the reporting currency, for a filter of the contracts' dimensions."""

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from ..models import BreakKind, ContractBreak

# The filters that apply to contracts (journey and flow are a transaction's, not a contract's).
CONTRACT_FILTERS = ("region", "business_unit", "legal_entity")


def open_breaks(filters: dict[str, str]) -> QuerySet:
    wanted = {f"contract__{k}": v for k, v in filters.items() if k in CONTRACT_FILTERS and v}
    return ContractBreak.objects.filter(cleared_at=None, **wanted)


def totals(filters: dict[str, str]) -> dict:
    """``{"breaks": n, "amount": Decimal}``; unpriced breaks count, but add no money."""
    found = open_breaks(filters).aggregate(n=Count("id"), amount=Sum("amount_reporting"))
    return {"breaks": found["n"], "amount": found["amount"] or Decimal("0.00")}


def by_kind(filters: dict[str, str]) -> dict[str, tuple[int, Decimal]]:
    """Every kind, with its open breaks' count and amount (zero for none)."""
    found = {
        row["kind"]: (row["n"], row["amount"] or Decimal("0.00"))
        for row in open_breaks(filters)
        .values("kind")
        .annotate(n=Count("id"), amount=Sum("amount_reporting"))
        .order_by()
    }
    return {kind: found.get(kind, (0, Decimal("0.00"))) for kind in BreakKind.values}
