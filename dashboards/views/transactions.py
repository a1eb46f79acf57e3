"""The transactions explorer: search, filter, sort, page by cursor, count, export as CSV."""

from django.http import StreamingHttpResponse
from django.utils import timezone

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Transaction, TransactionStatus

from .. import filterbar, keyset
from ..filtersets import SORTS, ExplorerFilterSet

PAGE_SIZE = 50
COUNT_UP_TO = 100_000  # beyond this the count says "100,000+" instead of scanning on
CSV_COLUMNS = (
    "correlation_id", "journey__slug", "current_stage__slug", "state__status", "flow__slug",
    "customer", "contract", "project", "invoice", "region", "business_unit", "legal_entity",
    "amount", "currency", "error_code", "error_message", "started_at", "last_event_at",
    "completed_at", "next_deadline_at",
)  # fmt: skip
RISK_BY_STATUS = ("failed", "stuck")
KEPT_BY_SEARCH = ("stuck", "risk", "started_within", "as_of", "reached", "error_code")
# Filters of the explorer that are not the filter bar's, kept in its hidden fields.
OWN_PARAMS = (
    "q", "status", "stage", "stuck", "risk", "min_amount", "max_amount", "sort",
    "started_within", "as_of", "reached", "error_code",
)  # fmt: skip


def explorer_rows(request):
    filters = ExplorerFilterSet(request.GET, queryset=Transaction.objects.all())
    rows = filters.qs if filters.is_valid() else Transaction.objects.none()
    return filters, rows


@needs("read")
def transactions_view(request):
    if request.GET.get("format") == "csv":
        return _csv(request)
    filters, rows = explorer_rows(request)
    scope = filterbar.scope_of(request)
    if htmx_partial(request) and request.GET.get("part") == "count":
        return respond(request, "dashboards/transactions.html#count", _count(rows))
    sort = request.GET.get("sort") or "recent"
    sort = sort if sort in SORTS else "recent"
    field = SORTS[sort][0]
    if sort == "recent" and _by_status(filters):
        # Newest first among one status: the status index of the state rows serves it.
        field = "-state__last_event_at"
    error = ""
    try:
        page = keyset.page(
            rows.select_related("journey", "current_stage", "flow", "state"),
            field.lstrip("-"),
            field.startswith("-"),
            request.GET.get("cursor", ""),
            PAGE_SIZE,
        )
    except keyset.BadCursor as exc:
        error, page = str(exc), keyset.Page([], None)
    context = {
        "filters": filters,
        "scope": scope,
        "page": page,
        "error": error,
        "sort": sort,
        "sorts": {key: label for key, (_, label) in SORTS.items()},
        "statuses": TransactionStatus.choices,
        "query": query_without(request, "cursor", "part"),
        "bar": filterbar.choices(),
        # Every value of a repeated parameter (status=failed&status=stuck), not the last.
        "bar_keep": [(k, v) for k, vs in request.GET.lists() if k in OWN_PARAMS for v in vs],
        # What the search form does not show but must keep (a drill-down's own filters).
        "search_keep": [(k, v) for k, vs in request.GET.lists() if k in KEPT_BY_SEARCH for v in vs],
        "section": "transactions",
        "now": timezone.now(),
    }
    template = "dashboards/transactions.html"
    if htmx_partial(request):
        template += "#page-body"
    return respond(request, template, context)


def _by_status(filters: ExplorerFilterSet) -> bool:
    """Whether the rows shown are of given statuses only (stuck, failed: old news by nature,
    so the newest of them are far down the index of all transactions by last event)."""
    if not filters.is_valid():
        return False
    data = filters.form.cleaned_data
    return (
        bool(data.get("status")) or data.get("stuck") is True or data.get("risk") in RISK_BY_STATUS
    )


def _count(rows) -> dict:
    counted = rows[: COUNT_UP_TO + 1].count()
    return {"count": min(counted, COUNT_UP_TO), "more": counted > COUNT_UP_TO}


def _csv(request) -> StreamingHttpResponse:
    """Every row of the filtered set, streamed from a server-side cursor: no page limit,
    and memory stays flat however many rows there are."""
    filters, rows = explorer_rows(request)
    if not filters.is_valid():
        rows = rows.none()
    values = rows.order_by("id").values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    header = [column.replace("__slug", "").replace("state__", "") for column in CSV_COLUMNS]
    return csvstream.response("transactions", header, values)
