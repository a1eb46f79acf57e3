"""Flows: each flow's throughput, failure rate, p95 latency and open exceptions, with a
sparkline; and one flow's recent errors grouped by error code."""

from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from c2c_ops.access import htmx_partial, needs, respond
from tracking.models import Event, Flow

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


@needs("read")
def flows_view(request):
    scope = filterbar.scope_of(request)
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
        found = figures.get(flow.slug, {"measures": {}, "bins": {}})
        ok = found["measures"].get("ev_ok", 0)
        bad = found["measures"].get("ev_failed", 0)
        rows.append(
            {
                "flow": flow,
                "started": found["measures"].get("started", 0),
                "reports": ok + bad,
                "failure_rate": None if ok + bad == 0 else bad / (ok + bad),
                "p95": percentile(found["bins"], 0.95),
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


@needs("read")
def flow_view(request, slug: str):
    flow = get_object_or_404(Flow, slug=slug)
    scope = filterbar.scope_of(request)
    now = timezone.now()
    try:
        start, _ = window_bounds(now, parse_window(scope.window))
    except BadQuery:
        start, _ = window_bounds(now, parse_window(filterbar.DEFAULT_PERIOD))
    errors = (
        Event.objects.filter(flow=flow, status="failed", occurred_at__gte=start)
        .values("error_code")
        .annotate(
            n=Count("id"),
            transactions=Count("transaction_id", distinct=True),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            message=Max("error_message"),
        )
        .order_by("-n", "error_code")[:100]
    )
    context = {
        "flow": flow,
        "scope": scope,
        "errors": errors,
        "counters": extensions.one_flow_counts(flow),
        "bar": filterbar.choices(),
        "bar_target": "#page-body",
        "section": "flows",
    }
    template = "dashboards/flow.html" + ("#page-body" if htmx_partial(request) else "")
    return respond(request, template, context)
