"""Flows: each flow's throughput, failure rate, p95 latency and open exceptions, with a
sparkline; and one flow's recent errors grouped by error code. Both export as CSV."""

from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, respond
from tracking.models import Event, Flow
from tracking.roles import user_scopes

from .. import extensions, filterbar
from ..facts import latency_measures
from ..models import SlaPolicy
from ..queries import (
    BadQuery,
    consistent_reads,
    parse_window,
    percentile,
    window_bounds,
    window_rows,
)
from ..summary import series

FLOWS_HEADER = (
    "flow", "name", "owner_team", "source_system", "target_system", "period", "started",
    "reports", "failed_reports", "failure_rate", "p95_billing_latency_seconds",
)  # fmt: skip
ERRORS_HEADER = (
    "flow", "error_code", "reports", "transactions", "first_at", "last_at", "message",
)  # fmt: skip


def per_flow(window: str, filters: dict[str, str], now) -> dict[str, dict]:
    """flow slug -> started, reports ok and failed, latency bins: one read of the rollups."""
    start, end = window_bounds(now, parse_window(window))
    policy = SlaPolicy.objects.filter(slug=settings.BILLING_LATENCY_POLICY).first()
    wanted = ["started", "ev_ok", "ev_failed"]
    prefix = f"latency:{policy.id}:" if policy else None
    if policy:
        wanted += latency_measures(policy.id)
    sums: dict[tuple[str, str], int] = defaultdict(int)
    with consistent_reads():
        for rows in window_rows(start, end, filters, wanted, group_by="flow"):
            rows = rows.values_list("flow", "measure")
            for flow, measure, n in rows.annotate(n=Sum("count")).order_by():
                sums[(flow, measure)] += n
    out: dict[str, dict] = defaultdict(lambda: {"measures": defaultdict(int), "bins": {}})
    for (flow, measure), n in sums.items():
        if not n:
            continue  # a pending difference took it to nothing, as a fold would
        entry = out[flow]
        if prefix and measure.startswith(prefix):
            entry["bins"][int(measure[len(prefix) :])] = n
        else:
            entry["measures"][measure] = n
    return out


def measured(figures: dict[str, dict], slug: str) -> dict:
    """One flow's figures as the table shows them, from ``per_flow``'s answer."""
    found = figures.get(slug, {"measures": {}, "bins": {}})
    ok = found["measures"].get("ev_ok", 0)
    bad = found["measures"].get("ev_failed", 0)
    return {
        "started": found["measures"].get("started", 0),
        "reports": ok + bad,
        "failed": bad,
        "failure_rate": None if ok + bad == 0 else bad / (ok + bad),
        "p95": percentile(found["bins"], 0.95),
    }


@needs("read")
def flows_view(request):
    scope = filterbar.scope_of(request)
    if request.GET.get("format") == "csv":
        return flows_csv(scope)
    now = timezone.now()
    try:
        figures = per_flow(scope.window, scope.filters, now)
        spark = {
            group["group"]: group["points"]
            for group in series("started", scope.window, scope.filters, now, group_by="flow")[
                "series"
            ]
        }
    except BadQuery as exc:
        scope.errors.setdefault("window", []).append(str(exc))
        figures, spark = {}, {}
    counters = extensions.flow_counts()
    rows = []
    for flow in Flow.objects.order_by("slug"):
        rows.append(
            {
                "flow": flow,
                **measured(figures, flow.slug),
                "counters": [
                    {"n": counts.get(flow.slug, 0), "href": counter.link(flow.slug)}
                    for counter, counts in counters
                ],
                "spark": spark.get(flow.slug, []),
                "started_link": scope.link(
                    "/transactions/", flow=flow.slug, started_within=scope.window
                ),
            }
        )
    context = {
        "scope": scope,
        "rows": rows,
        "counter_headings": [counter.heading for counter, _ in counters],
        "columns": 6 + len(counters),
        "bar": filterbar.choices(),
        "section": "flows",
    }
    template = "dashboards/flows.html" + ("#page-body" if htmx_partial(request) else "")
    return respond(request, template, context)


def flows_csv(scope: filterbar.Scope):
    """Every flow with the figures of the page's period and filters; no sparkline."""
    if scope.errors:
        return csvstream.refused(scope.errors)
    try:
        figures = per_flow(scope.window, scope.filters, timezone.now())
    except BadQuery as exc:
        return csvstream.refused({"window": [str(exc)]})
    counters = extensions.flow_counts()
    header = (*FLOWS_HEADER, *(c.heading.lower().replace(" ", "_") for c, _ in counters))
    fields = ("slug", "name", "owner_team", "source_system", "target_system")
    flows = Flow.objects.order_by("slug").values_list(*fields)

    def lines() -> Iterator[tuple]:
        for flow in flows.iterator(chunk_size=2000):
            found = measured(figures, flow[0])
            rate, p95 = found["failure_rate"], found["p95"]
            yield (
                *flow, scope.window, found["started"], found["reports"], found["failed"],
                None if rate is None else round(rate, 4), None if p95 is None else round(p95),
                *(counts.get(flow[0], 0) for _, counts in counters),
            )  # fmt: skip

    return csvstream.response("flows", header, lines())


def errors_of(flow: Flow, window: str):
    """The flow's failed reports since the period began, one row per error code, most
    frequent first."""
    start, _ = window_bounds(timezone.now(), parse_window(window))
    return (
        Event.objects.filter(flow=flow, status="failed", occurred_at__gte=start)
        .values("error_code")
        .annotate(
            n=Count("id"),
            transactions=Count("transaction_id", distinct=True),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            message=Max("error_message"),
        )
        .order_by("-n", "error_code")
    )


@needs("read")
def flow_view(request, slug: str):
    flow = get_object_or_404(Flow, slug=slug)
    scope = filterbar.scope_of(request)
    if request.GET.get("format") == "csv":
        return flow_errors_csv(flow, scope)
    try:
        errors = errors_of(flow, scope.window)
    except BadQuery:
        errors = errors_of(flow, filterbar.DEFAULT_PERIOD)
    context = {
        "flow": flow,
        "scope": scope,
        "errors": errors[:100],
        "counters": extensions.one_flow_counts(flow),
        "bar": filterbar.choices(),
        "bar_target": "#page-body",
        "section": "flows",
        # Keys are configuration: only admins see that they exist.
        "live_keys": (
            flow.api_keys.filter(revoked=False).count()
            if "configure" in user_scopes(request.user)
            else None
        ),
    }
    template = "dashboards/flow.html" + ("#page-body" if htmx_partial(request) else "")
    return respond(request, template, context)


def flow_errors_csv(flow: Flow, scope: filterbar.Scope):
    """Every error code of the period, not only the page's first 100."""
    if scope.errors:
        return csvstream.refused(scope.errors)
    try:
        errors = errors_of(flow, scope.window)
    except BadQuery as exc:
        return csvstream.refused({"window": [str(exc)]})
    fields = ("error_code", "n", "transactions", "first", "last", "message")
    rows = ((flow.slug, *row) for row in errors.values_list(*fields).iterator(chunk_size=2000))
    return csvstream.response(f"flow-{flow.slug}-errors", ERRORS_HEADER, rows)
