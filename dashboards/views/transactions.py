"""The transactions explorer: search, filter, sort, page by cursor, count, export as CSV."""

from datetime import datetime

from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.utils import timezone

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Transaction, TransactionStatus

from .. import drill, filterbar, keyset
from ..filtersets import SORTS, ExplorerFilterSet
from ..models import Fact
from ..models.risk import RiskAge

PAGE_SIZE = 50
COUNT_UP_TO = 100_000  # beyond this the count says "100,000+" instead of scanning on
CSV_COLUMNS = (
    "correlation_id", "journey__slug", "current_stage__slug", "state__status", "flow__slug",
    "customer", "contract", "project", "invoice", "region", "business_unit", "legal_entity",
    "amount", "currency", "error_code", "error_message", "started_at", "last_event_at",
    "completed_at", "next_deadline_at",
)  # fmt: skip
RISK_BY_STATUS = ("failed", "stuck")
KEPT_BY_SEARCH = (
    "stuck", "risk", "age", "started_within", "as_of", "reached", "error_code", "breached",
    "measured", "since", "until",
)  # fmt: skip
# Filters of the explorer that are not the filter bar's, kept in its hidden fields.
OWN_PARAMS = (
    "q", "status", "stage", "stuck", "risk", "age", "min_amount", "max_amount", "sort",
    "started_within", "as_of", "reached", "error_code", "breached", "measured", "since", "until",
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
        return respond(request, "dashboards/transactions.html#count", _count(filters, rows))
    sort = request.GET.get("sort") or ("slowest" if _measured(filters) else "recent")
    sort = sort if sort in SORTS and (sort != "slowest" or _measured(filters)) else "recent"
    field = SORTS[sort][0]
    if sort == "recent" and _by_status(filters):
        # Newest first among one status: the status index of the state rows serves it.
        field = "-state__last_event_at"
    if sort == "slowest":
        rows = rows.annotate(latency=_latency(filters))
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
    measured = _measured(filters)
    if measured:
        _add_latencies(page.rows, measured)
    context = {
        "drill": _caption(filters),
        "measured": measured,
        "filters": filters,
        "scope": scope,
        "page": page,
        "error": error,
        "sort": sort,
        "sorts": {
            key: label
            for key, (_, label) in SORTS.items()
            if key != "slowest" or _measured(filters)
        },
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


def _caption(filters: ExplorerFilterSet) -> str:
    """What figure the list stands for, in words, when a figure opened it."""
    if not filters.is_valid():
        return ""
    data = filters.form.cleaned_data
    since, until = filters.period()
    period = ""
    if since and until:
        period = f", decided from {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"
    if data.get("breached"):
        return f"Breaches of the SLA “{data['breached'].name}”{period}"
    if data.get("measured"):
        return f"Latencies of “{data['measured'].name}” measured{period}, slowest first"
    reason, age = data.get("risk"), data.get("age")
    if reason or age:
        labels = dict(filters.filters["risk"].extra["choices"])
        what = "Revenue at risk" if reason in (None, "", "any") else labels[reason]
        if reason == "soon":
            what = "At risk within a day"
        aged = f", at risk for {dict(RiskAge.choices)[age]}" if age else ""
        moment = data.get("as_of")
        return f"{what}{aged}" + (f", as of {moment:%Y-%m-%d %H:%M} UTC" if moment else "")
    return ""


def _add_latencies(rows: list, policy) -> None:
    """Each row's exact latency for the policy, from its stage times (the sort is by bin)."""
    start, end = policy.from_stage.slug, policy.to_stage.slug
    for txn in rows:
        times = txn.stage_times if isinstance(txn.stage_times, dict) else {}
        began, ended = times.get(start), times.get(end)
        txn.latency_seconds = (
            (datetime.fromisoformat(ended) - datetime.fromisoformat(began)).total_seconds()
            if began and ended
            else None
        )


def _measured(filters: ExplorerFilterSet):
    return filters.is_valid() and filters.form.cleaned_data.get("measured")


def _latency(filters: ExplorerFilterSet) -> Subquery:
    """Each row's latency bin for the measured policy, in the period: to sort by."""
    policy = filters.form.cleaned_data["measured"]
    facts = Fact.objects.filter(
        drill.period_q(*filters.period()),
        transaction_id=OuterRef("pk"),
        measure__startswith=drill.latency_prefix(policy),
    )
    return Subquery(facts.annotate(bin=drill.latency_bin(policy)).values("bin")[:1])


def _count(filters: ExplorerFilterSet, rows) -> dict:
    """The list's length and its total, worked out as the figure that opened it was."""
    counted = rows[: COUNT_UP_TO + 1].count()
    found = {"count": min(counted, COUNT_UP_TO), "more": counted > COUNT_UP_TO}
    if counted > COUNT_UP_TO or not filters.is_valid():
        return found
    data, now = filters.form.cleaned_data, timezone.now()
    if data.get("risk") or data.get("age"):
        reason = data.get("risk") or "any"
        total = drill.risk_total(rows, reason, data.get("age") or "", data.get("as_of") or now)
    elif data.get("breached"):
        total = drill.breached_total(rows, data["breached"], *filters.period())
    elif data.get("measured"):
        total = drill.measured_total(rows, data["measured"], *filters.period(), now)
    else:
        total = drill.plain_total(rows, now)
    return {**found, "total": total}


def _csv(request) -> HttpResponse:
    """Every row of the filtered set, streamed from a server-side cursor: no page limit,
    and memory stays flat however many rows there are."""
    filters, rows = explorer_rows(request)
    if not filters.is_valid():
        return csvstream.refused(filters.errors)
    values = rows.order_by("id").values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    header = [column.replace("__slug", "").replace("state__", "") for column in CSV_COLUMNS]
    return csvstream.response("transactions", header, values)
