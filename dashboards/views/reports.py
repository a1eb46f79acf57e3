"""Status reports: the flows' reports of stage outcomes, newest first, with the share failed.

The failure-rate tile opens this list at its failed reports: it counts ``ev_failed`` facts,
one per failed report in the period, under the dimensions of the report's transaction, so
the list filters reports the same way and its total is the tile's numerator.
"""

import django_filters
from django.utils import timezone

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Event, EventStatus

from .. import filterbar, keyset
from ..queries import BadQuery, parse_window, window_bounds

PAGE_SIZE = 50
OUTCOMES = (EventStatus.SUCCEEDED, EventStatus.FAILED)
CSV_COLUMNS = (
    "occurred_at", "transaction__correlation_id", "journey__slug", "stage__slug", "status",
    "error_code", "error_message", "flow__slug", "system", "event_id", "received_at",
)  # fmt: skip
OWN_PARAMS = ("status", "stage", "error_code", "q", "since", "until")


class ReportFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EventStatus.choices)
    stage = django_filters.CharFilter(field_name="stage__slug")
    error_code = django_filters.CharFilter()
    q = django_filters.CharFilter(
        field_name="transaction__correlation_id", lookup_expr="istartswith", label="Correlation ID"
    )
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["status", "stage", "error_code"]


def _dimensions(rows, filters: dict[str, str]):
    """The filter bar's dimensions, of each report's transaction (as the facts have them)."""
    names = {"journey": "journey__slug", "flow": "flow__slug"}
    wanted = {f"transaction__{names.get(k, k)}": v for k, v in filters.items() if v}
    return rows.filter(**wanted)


def report_rows(request, params=None) -> tuple[ReportFilterSet, filterbar.Scope, object, str]:
    params = request.GET if params is None else params
    scope = filterbar.scope_of(request)
    filters = ReportFilterSet(params, queryset=Event.objects.all())
    rows = filters.qs if filters.is_valid() else Event.objects.none()
    rows = _dimensions(rows, scope.filters)
    error = ""
    if filters.is_valid() and not (params.get("since") or params.get("until")):
        try:
            start, end = window_bounds(timezone.now(), parse_window(scope.window))
            rows = rows.filter(occurred_at__gte=start, occurred_at__lt=end)
        except BadQuery as exc:
            error, rows = str(exc), rows.none()
    return filters, scope, rows, error


@needs("read")
def reports_view(request):
    filters, scope, rows, error = report_rows(request)
    if request.GET.get("format") == "csv":
        if not filters.is_valid():
            return csvstream.refused(filters.errors)
        values = rows.order_by("occurred_at", "id").values_list(*CSV_COLUMNS)
        header = [c.replace("__slug", "").replace("transaction__", "") for c in CSV_COLUMNS]
        return csvstream.response("reports", header, values.iterator(chunk_size=2000))
    if htmx_partial(request) and request.GET.get("part") == "total":
        return respond(request, "dashboards/reports.html#total", _total(request, rows))
    try:
        page = keyset.page(
            rows.select_related("transaction", "stage", "flow"),
            "occurred_at",
            True,
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
        "statuses": EventStatus.choices,
        "query": query_without(request, "cursor", "part"),
        "bar": filterbar.choices(),
        "bar_keep": [(k, v) for k, vs in request.GET.lists() if k in OWN_PARAMS for v in vs],
        "section": "transactions",
    }
    template = "dashboards/reports.html"
    if htmx_partial(request):
        template += "#page-body"
    return respond(request, template, context)


def _total(request, rows) -> dict:
    """How many reports are listed and, of the outcomes reported under the same filters
    whatever their status, how many failed: the failure rate's parts."""
    others = request.GET.copy()
    others.pop("status", None)
    _, _, outcomes, _ = report_rows(request, others)
    outcomes = outcomes.filter(status__in=OUTCOMES)
    reported = outcomes.count()
    failed = outcomes.filter(status=EventStatus.FAILED).count()
    return {
        "listed": rows.count(),
        "reported": reported,
        "failed": failed,
        "rate": failed / reported if reported else None,
    }
