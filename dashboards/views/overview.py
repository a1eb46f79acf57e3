"""The overview: KPI tiles refreshed in place, and the charts behind them."""

from datetime import datetime
from urllib.parse import urlencode

from django.utils import timezone

from c2c_ops.access import htmx_partial, needs, respond

from .. import drill, extensions, filterbar, freshness, overview_figures
from ..charts import figures as charts
from ..models import BreakKind
from ..queries import BadQuery
from ..reconciliation import figures as reconciliation_figures
from ..summary import grain_of, latency_series, series

TILES_EVERY = "30s"


@needs("read")
def overview_view(request):
    scope = filterbar.scope_of(request)
    now = timezone.now()
    context = {
        "scope": scope,
        "section": "overview",
        "every": TILES_EVERY,
        "panels": extensions.overview_panels(request),
    }
    try:
        found = overview_figures.figures(scope.window, scope.filters, now)
    except BadQuery as exc:
        scope.errors.setdefault("window", []).append(str(exc))
        found = None
    context["figures"] = found
    as_of = found.summary.get("as_of") if found else None
    context["as_of"] = datetime.fromisoformat(as_of) if as_of else None
    context["tiles"] = _tiles(scope, found) if found else []
    template = "dashboards/overview.html"
    if htmx_partial(request) and request.GET.get("part") == "tiles":
        template += "#tiles"
    else:
        context["charts"] = _cached_charts(scope, found, now) if found else {}
        context["bar"] = filterbar.choices()
        if htmx_partial(request):
            template += "#overview-body"
    return respond(request, template, context)


def _tiles(scope: filterbar.Scope, found: overview_figures.Figures) -> list[dict]:
    """The key figures; each links to the rows it counts, as of the moment or over the
    period it was worked out for (``dashboards/drill.py``), so the list's total equals it."""
    s = found.summary
    risk = s["revenue_at_risk"]
    as_of = s.get("as_of")
    period = {"since": s["from"], "until": s["to"]}

    def transactions(**extra) -> str:
        return scope.link("/transactions/", **extra)

    latency_policy = s["billing_latency"]["policy"]
    tiles = [
        {
            "key": "revenue-at-risk",
            "label": "Revenue at risk",
            "money": risk["amount"],
            "change": found.risk_change,
            "href": transactions(risk="any", as_of=as_of),
            "note": "failed, stuck, past an SLA deadline or never invoiced",
        },
        {
            "key": "at-risk-soon",
            "label": "At risk within a day",
            "money": s["at_risk_soon"]["amount"],
            "href": transactions(risk="soon", as_of=as_of),
            "note": "deadlines due in the next 24 hours",
        },
        {
            "key": "stuck",
            "label": "Stuck transactions",
            "count": s["stuck_count"],
            "href": transactions(risk="stuck", as_of=as_of),
            "note": "past their next-stage deadline with no news",
        },
        {
            "key": "failure-rate",
            "label": "Sync failure rate",
            "ratio": s["failure_rate"],
            "href": scope.link("/reports/", status="failed", **period),
            "note": f"failed stage reports, {scope.period_label.lower()}",
        },
        {
            "key": "billing-latency",
            "label": "Billing latency p50 / p95",
            "durations": (
                s["billing_latency"]["p50_seconds"],
                s["billing_latency"]["p95_seconds"],
            ),
            "href": transactions(measured=latency_policy, **period) if latency_policy else "",
            "note": "work approved to invoice posted",
        },
        {
            "key": "invoice-cycle",
            "label": "Invoice cycle p50 / p95",
            "durations": (found.cycle["p50_seconds"], found.cycle["p95_seconds"]),
            "href": transactions(measured=overview_figures.CYCLE_POLICY, **period)
            if found.cycle["count"]
            else "",
            "note": "work approved to invoice generated",
        },
    ]
    breaks = s["reconciliation"]
    tiles.append(
        {
            "key": "reconciliation",
            "label": "Reconciliation breaks",
            "money": breaks["amount"],
            "href": _contracts_link(scope, has_breaks="true"),
            "note": (
                f"{breaks['breaks']} open: versions, amounts, unbilled work, over-billing, "
                "duplicate invoices"
            ),
        }
    )
    for policy in s["sla"]:
        tiles.append(
            {
                "key": f"sla-{policy['policy']}",
                "label": f"SLA: {policy['name']}",
                "ratio": policy["adherence"],
                "objective": policy["objective"],
                "breached": policy["breached"],
                "href": transactions(breached=policy["policy"], **period),
                "note": f"{policy['met'] + policy['breached']} measured",
            }
        )
    return tiles


def _point_link(scope: filterbar.Scope, summary: dict):
    """A link for one point of a time series: the rows decided in its interval."""
    grain = grain_of(scope.window)
    end = datetime.fromisoformat(summary["to"])

    def link(t: str, **extra: str) -> str:
        start = datetime.fromisoformat(t)
        until = drill.bucket_end(start, grain, end)
        return scope.link("/transactions/", since=t, until=until.isoformat(), **extra)

    return link


def _contracts_link(scope: filterbar.Scope, **extra: str) -> str:
    """The contracts list for the filter bar's filters a contract has (not the window, the
    journey or the flow: the breaks of a contract stand until settled, across journeys)."""
    wanted = {
        k: v for k, v in scope.filters.items() if k in reconciliation_figures.CONTRACT_FILTERS
    }
    return f"/contracts/?{urlencode({**wanted, **extra})}"


def _cached_charts(scope: filterbar.Scope, found: overview_figures.Figures, now) -> dict:
    """The charts change only when the figures do (and with the 5-minute bucket)."""
    return freshness.cached_window(
        "charts", scope.window, scope.filters, now, lambda: _charts(scope, found, now)
    )


def _charts(scope: filterbar.Scope, found: overview_figures.Figures, now) -> dict:
    currency = found.summary["currency"]

    def link(**extra) -> str:
        return scope.link("/transactions/", **extra)

    latency_policy = found.summary["billing_latency"]["policy"]
    as_of = found.summary.get("as_of")
    out = {"risk": charts.risk_over_time(found.risk_series, currency, link, grain_of(scope.window))}
    _, by_age = overview_figures.by_age(scope.filters)
    out["age"] = charts.risk_by_age(by_age, currency, lambda **e: link(as_of=as_of, **e))
    if latency_policy:
        point = _point_link(scope, found.summary)
        adherence = series(
            "sla_adherence", scope.window, scope.filters, now, policy=latency_policy
        )["series"]
        objective = next(
            (p["objective"] for p in found.summary["sla"] if p["policy"] == latency_policy), None
        )
        out["sla"] = charts.sla_trend(
            adherence[0]["points"] if adherence else [],
            objective,
            latency_policy,
            lambda t: point(t, breached=latency_policy),
        )
        latency = latency_series(scope.window, scope.filters, now, latency_policy)
        out["latency"] = charts.latency(
            {"p50": latency["latency_p50"], "p95": latency["latency_p95"]},
            latency_policy,
            lambda t: point(t, measured=latency_policy),
        )
    labels = dict(BreakKind.choices)
    out["breaks"] = charts.breaks_by_kind(
        [
            (kind, labels[kind], count, float(amount))
            for kind, (count, amount) in reconciliation_figures.by_kind(scope.filters).items()
        ],
        currency,
        lambda kind: _contracts_link(scope, kind=kind),
    )
    _, cells = overview_figures.breakdown(scope.filters)
    out["breakdown"] = charts.breakdown(cells, currency, link)
    journey = scope.filters.get("journey", "billing")
    flow = overview_figures.funnel(journey, scope.window, scope.filters, now)

    def funnel_link(**extra) -> str:
        return scope.link("/transactions/", journey=journey, started_within=scope.window, **extra)

    out["funnel"] = charts.funnel(flow["stages"], flow["reached"], flow["stopped"], funnel_link)
    return out
