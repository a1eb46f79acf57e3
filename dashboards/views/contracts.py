"""Contracts: the list (filters, CSV), and one contract's chain drawn as a person reads it:
the contract and its amendments, each invoice's stages with their amounts, the payments;
the version each system holds side by side; the breaks, with links to their transactions."""

from django.http import Http404, HttpResponse

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Transaction

from .. import keyset
from ..models import BreakKind, Contract
from ..models.contracts import FIGURES
from ..reconciliation.filtersets import ContractFilterSet
from ..reconciliation.serializers import JOURNEY_ORDER

PAGE_SIZE = 50
CSV_COLUMNS = (
    "key", "customer", "region", "business_unit", "legal_entity", "currency", *FIGURES,
    "transactions", "open_breaks", "break_amount", "reconciled_at",
)  # fmt: skip
# Each invoice's stages, in order, and the figure each adds to.
INVOICE_STAGES = (
    ("work_approved", "approved"),
    ("invoice_generated", "invoiced"),
    ("invoice_posted", "posted"),
    ("payment_received", "paid"),
)


def _filtered(request) -> ContractFilterSet:
    return ContractFilterSet(request.GET, queryset=Contract.objects.all())


@needs("read")
def contracts_view(request):
    filters = _filtered(request)
    if request.GET.get("format") == "csv":
        return _csv(filters)
    rows = filters.qs if filters.is_valid() else Contract.objects.none()
    error = ""
    try:
        # Largest open breaks first: what finance looks at first.
        page = keyset.page(rows, "break_amount", True, request.GET.get("cursor", ""), PAGE_SIZE)
    except keyset.BadCursor as exc:
        error, page = str(exc), keyset.Page([], None)
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "kinds": BreakKind.choices,
        "query": query_without(request, "cursor"),
        "section": "contracts",
    }
    template = "dashboards/contracts.html" + ("#page-body" if htmx_partial(request) else "")
    return respond(request, template, context)


def _csv(filters: ContractFilterSet) -> HttpResponse:
    if not filters.is_valid():
        return csvstream.refused(filters.errors)
    values = filters.qs.order_by("id").values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    header = ["contract" if c == "key" else c for c in CSV_COLUMNS]
    return csvstream.response("contracts", header, values)


@needs("read")
def contract_view(request, contract: str):
    found = Contract.objects.filter(key=contract).first()
    if found is None:
        raise Http404("No contract has this key (or it has not been reconciled yet).")
    txns = sorted(
        Transaction.objects.filter(contract=found.key)
        .exclude(contract="")
        .select_related("journey", "current_stage", "state"),
        key=lambda t: (JOURNEY_ORDER.get(t.journey.slug, 9), t.started_at, t.id),
    )
    breaks = list(found.breaks.filter(cleared_at=None).order_by("-amount", "id"))
    flagged = {b.correlation_id for b in breaks}
    context = {
        "contract": found,
        "figures": [(name, getattr(found, name)) for name in FIGURES],
        "systems": _systems(found.versions),
        "terms": [_terms(t) for t in txns if JOURNEY_ORDER.get(t.journey.slug) in (0, 1)],
        "invoices": [_invoice(t, flagged) for t in txns if t.journey.slug == "billing"],
        "payments": [t for t in txns if t.journey.slug == "payment_sync"],
        "breaks": breaks,
        "history": found.breaks.exclude(cleared_at=None).order_by("-cleared_at", "-id")[:50],
        "section": "contracts",
    }
    return respond(request, "dashboards/contract.html", context)


def _systems(versions: dict[str, str]) -> list[dict]:
    """Each system's version, the ones behind the newest marked (the newest: the highest
    held, by a version's natural order: "10" after "9")."""
    if not versions:
        return []
    newest = max(versions.values(), key=_version_order)
    return [
        {"system": system, "version": version, "behind": version != newest}
        for system, version in sorted(versions.items())
    ]


def _version_order(version: str) -> tuple:
    return tuple(
        (0, int(p)) if p.isdigit() else (1, p) for p in version.replace("-", ".").split(".")
    )


def _terms(txn: Transaction) -> dict:
    stage = (
        "contract_approved" if txn.journey.slug == "contract_activation" else "amendment_approved"
    )
    held = (txn.stage_amounts or {}).get(stage)
    return {"txn": txn, "approved": held[2] if held else None, "currency": held[3] if held else ""}


def _invoice(txn: Transaction, flagged: set[str]) -> dict:
    amounts = txn.stage_amounts or {}
    return {
        "txn": txn,
        "broken": txn.correlation_id in flagged,
        "stages": [
            {
                "stage": stage,
                "figure": figure,
                "amount": amounts[stage][2] if stage in amounts else None,
                "currency": amounts[stage][3] if stage in amounts else "",
                "done": stage in (txn.stage_times or {}),
            }
            for stage, figure in INVOICE_STAGES
        ],
    }
