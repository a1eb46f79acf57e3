"""Read contracts' chains from the ledger: their transactions, and their systems' version
reports, as ``rules`` takes them. Two queries for any number of contracts."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from tracking import journeys
from tracking.batch_sql import pg_query
from tracking.models import Event, Transaction
from tracking.timefmt import parse_iso

from .terms import APPROVALS, StageAmount, TxnFacts, VersionReport

_TXN = (
    "id",
    "correlation_id",
    "journey_id",
    "current_stage_id",
    "started_at",
    "invoice",
    "customer",
    "region",
    "business_unit",
    "legal_entity",
    "stage_amounts",
    "contract",
    "approved_at",
    "invoiced",
)
_EVENT = (
    "transaction_id",
    "system",
    "contract_version",
    "occurred_at",
    "event_id",
    "amount",
    "currency",
    "stage_id",
    "status",
)


class Chains:
    """The contracts' transactions and reports, by contract key."""

    def __init__(self) -> None:
        self.txns: dict[str, list[TxnFacts]] = defaultdict(list)
        self.reports: dict[str, list[VersionReport]] = defaultdict(list)
        self.ids: dict[str, int] = {}  # correlation ID -> transaction id
        self.contract_of: dict[int, str] = {}  # transaction id -> contract key


def load(keys: list[str]) -> Chains:
    chains = Chains()
    if not keys:
        return chains
    rows = _transactions(keys)
    key_of_id: dict[int, str] = {}
    for row in rows:
        values = dict(zip(_TXN, row, strict=True))
        info = journeys.by_id(values["journey_id"])
        stage = info.stage_by_id(values["current_stage_id"]) if info else None
        key = values["contract"]
        key_of_id[values["id"]] = key
        chains.ids[values["correlation_id"]] = values["id"]
        chains.contract_of[values["id"]] = key
        chains.txns[key].append(
            TxnFacts(
                correlation_id=values["correlation_id"],
                journey=info.slug if info else "",
                stage=stage.slug if stage else "",
                started_at=values["started_at"],
                invoice=values["invoice"],
                customer=values["customer"],
                region=values["region"],
                business_unit=values["business_unit"],
                legal_entity=values["legal_entity"],
                stage_amounts=_stage_amounts(values["stage_amounts"]),
                approved_at=parse_iso(values["approved_at"]) if values["approved_at"] else None,
                invoiced=values["invoiced"],
                posted=0,
            )
        )
    posted = _read_reports(chains, key_of_id)
    if posted:
        for key, txns in chains.txns.items():
            chains.txns[key] = [
                _with_posted(t, posted.get(chains.ids[t.correlation_id], 0)) for t in txns
            ]
    return chains


def _stage_amounts(stored: dict | None) -> dict[str, StageAmount]:
    return {
        slug: StageAmount(Decimal(held[2]), held[3], parse_iso(held[0]), held[1])
        for slug, held in (stored or {}).items()
    }


def _with_posted(txn: TxnFacts, count: int) -> TxnFacts:
    if not count:
        return txn
    values = dict(txn.__dict__)
    values["posted"] = count
    return TxnFacts(**values)


def _transactions(keys: list[str]) -> list[tuple]:
    """``_TXN`` of the contracts' transactions: of their stage times only what the rules
    read (when work was approved, whether it was invoiced)."""
    if connection.vendor == "postgresql":
        columns = ", ".join(Transaction._meta.get_field(name).column for name in _TXN[:-2])
        # "contract <> ''" lets the partial index by contract serve the look-up.
        return pg_query(
            f"SELECT {columns}, stage_times->>'work_approved', "  # noqa: S608
            "stage_times ? 'invoice_generated' FROM tracking_transaction "
            "WHERE contract = ANY(%s) AND contract <> ''",
            [keys],
        )
    rows = (
        Transaction.objects.filter(contract__in=keys)
        .exclude(contract="")
        .values_list(*(Transaction._meta.get_field(n).attname for n in _TXN[:-2]), "stage_times")
    )
    return [
        (*row[:-1], (row[-1] or {}).get("work_approved"), "invoice_generated" in (row[-1] or {}))
        for row in rows
    ]


def _report_stages() -> tuple[set[int], set[int]]:
    """The ids of the approval stages (whose reports carry a version's value) and of the
    billing journey's invoice_posted (whose successes are counted)."""
    approvals, posted = set(), set()
    for journey, stage in APPROVALS.items():
        info = journeys.by_slug(journey)
        if info and stage in info.by_slug:
            approvals.add(info.by_slug[stage].id)
    billing = journeys.by_slug("billing")
    if billing and "invoice_posted" in billing.by_slug:
        posted.add(billing.by_slug["invoice_posted"].id)
    return approvals, posted


def _read_reports(chains: Chains, key_of_id: dict[int, str]) -> dict[int, int]:
    """Fill the version reports; return each transaction's count of invoice postings."""
    approvals, posted_stages = _report_stages()
    ids = list(key_of_id)
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        rows = pg_query(
            f"SELECT {', '.join(_EVENT)} FROM tracking_event "  # noqa: S608
            "WHERE transaction_id = ANY(%s) AND (contract_version <> '' "
            "OR (stage_id = ANY(%s) AND status = 'succeeded'))",
            [ids, list(posted_stages)],
        )
    else:
        rows = list(
            Event.objects.filter(transaction_id__in=ids)
            .filter(~Q(contract_version="") | Q(stage_id__in=posted_stages, status="succeeded"))
            .values_list(*_EVENT)
        )
    correlation_of = {txn_id: cid for cid, txn_id in chains.ids.items()}
    posted: dict[int, set[str]] = defaultdict(set)
    for txn_id, system, version, at, event_id, amount, currency, stage_id, status in rows:
        if stage_id in posted_stages and status == "succeeded":
            posted[txn_id].add(event_id)
        if not version or not system:
            continue  # a version with no system to hold it compares with nothing
        approved = stage_id in approvals and status == "succeeded"
        chains.reports[key_of_id[txn_id]].append(
            VersionReport(
                system=system,
                version=version,
                at=at,
                event_id=event_id,
                correlation_id=correlation_of[txn_id],
                value=amount if approved else None,
                currency=currency if approved else "",
            )
        )
    return {txn_id: len(events) for txn_id, events in posted.items()}
