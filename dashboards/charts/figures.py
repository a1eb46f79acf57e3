"""Plotly figures built on the server and sent to the page as JSON.

Every figure has the same size rules, font and palette (``palette``), and every clickable
mark carries the URL it drills into in ``customdata``: ``static/js/charts.js`` follows it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import plotly.io as pio
from django.utils.safestring import SafeString, mark_safe

from ..models.risk import RiskAge
from . import palette

HEIGHT = 300
PAD = timedelta(minutes=30)  # at least, either side of a time axis's only moment
# The look go.Figure would give every figure (plotly's default template), set explicitly
# because figures are serialised without building a go.Figure (see ``_figure``).
TEMPLATE = pio.templates[pio.templates.default].to_plotly_json()


@dataclass
class Chart:
    title: str
    json: SafeString  # the figure, escaped for a <script type="application/json"> element


def _figure(traces: list[dict], title: str, y_title: str = "", **extra) -> Chart:
    """One figure from trace dicts, serialised by plotly without building a go.Figure.

    Building one checks every property against plotly's schema: 7 to 16 ms a chart, more
    than the queries behind it on a computed overview. The shapes come from this module
    alone, so its tests make that check instead (``go.Figure`` of every chart they render).
    """
    axes = {
        "xaxis": {"gridcolor": "rgba(128,128,128,0.15)"},
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": "rgba(128,128,128,0.25)",
            "rangemode": "tozero",
        },
    }
    for axis, options in axes.items():
        options.update(extra.pop(axis, {}))
    layout = {
        "template": TEMPLATE,
        "title": {"text": title, "x": 0, "font": {"size": 14}},
        "height": HEIGHT,
        "margin": {"l": 56, "r": 12, "t": 36, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "closest",
        **axes,
        **extra,
    }
    text = pio.to_json({"data": traces, "layout": layout}, validate=False, engine="orjson")
    # Escaped as json_script does, so no string in the data can close the <script>
    # (with replace: str.translate walks the text in Python, ~0.5 ms a chart).
    for char, escape in (("&", "\\u0026"), ("<", "\\u003C"), (">", "\\u003E")):
        text = text.replace(char, escape)
    return Chart(title, mark_safe(text))  # noqa: S308


def risk_over_time(series: list[dict], currency: str, link, grain: int | None = None) -> Chart:
    """Revenue at risk stacked by reason; a click opens today's list for that reason.

    ``grain``: seconds per bar. Bars are sized to it, since plotly sizes a bar on a time
    axis by the gaps between bars, and a lone bar (the first snapshot) had none: 1 ms wide.
    """
    traces = []
    width = {"width": grain * 1000 * 0.8} if grain else {}
    for group in series:
        reason = group["group"] or "other"
        colour, pattern = palette.reason_style(reason)
        points = group["points"]
        _add(
            traces,
            "bar",
            name=reason.title(),
            x=[p["t"] for p in points],
            y=[float(p["value"] or 0) for p in points],
            marker={"color": colour, "pattern": {"shape": pattern}},
            customdata=[link(risk=reason)] * len(points),
            hovertemplate=f"%{{x}}<br>{reason}: %{{y:,.0f}} {currency}<extra></extra>",
            **width,
        )
    moments = [p["t"] for group in series for p in group["points"]]
    return _figure(
        traces,
        "Revenue at risk over time, by reason",
        currency,
        barmode="stack",
        xaxis=_time_axis(moments, grain),
    )


def sla_trend(points: list[dict], objective: float | None, name: str, link=None) -> Chart:
    """A policy's adherence per interval; a point opens the breaches decided in it."""
    traces: list[dict] = []
    _add(
        traces,
        "scatter",
        name="Adherence",
        x=[p["t"] for p in points],
        y=[p["value"] for p in points],
        mode="lines+markers",
        line={"color": palette.SERIES[0]},
        hovertemplate="%{x}<br>%{y:.1%} · click for the breaches<extra></extra>",
        **({"customdata": [link(p["t"]) for p in points]} if link else {}),
    )
    if objective is not None and points:
        _add(
            traces,
            "scatter",
            name=f"Objective {objective:.1%}",
            x=[points[0]["t"], points[-1]["t"]],
            y=[objective, objective],
            mode="lines",
            line={"color": palette.OBJECTIVE, "dash": "dash"},
            hoverinfo="skip",
        )
    yaxis = {"rangemode": "normal", "tickformat": ".0%"}
    return _figure(
        traces, f"SLA adherence: {name}", yaxis=yaxis, xaxis=_time_axis(p["t"] for p in points)
    )


def latency(percentiles: dict[str, list[dict]], name: str, link=None) -> Chart:
    """Billing latency percentiles over time, in hours; a point opens the slowest of its
    interval."""
    traces: list[dict] = []
    moments = []
    for label, points in percentiles.items():
        moments += [p["t"] for p in points]
        _add(
            traces,
            "scatter",
            name=label,
            x=[p["t"] for p in points],
            y=[None if p["value"] is None else p["value"] / 3600 for p in points],
            mode="lines+markers",
            line={"color": palette.PERCENTILE.get(label, palette.SERIES[2])},
            hovertemplate=(
                f"%{{x}}<br>{label}: %{{y:,.1f}} h · click for the slowest<extra></extra>"
            ),
            **({"customdata": [link(p["t"]) for p in points]} if link else {}),
        )
    return _figure(
        traces, f"Billing latency percentiles: {name}", "hours", xaxis=_time_axis(moments)
    )


def risk_by_age(cells: list[tuple[str, str, int, float]], currency: str, link) -> Chart:
    """Money at risk by how long it has been at risk, stacked by reason: (reason, age,
    count, amount) each; a segment opens the transactions it counts."""
    labels = dict(RiskAge.choices)
    traces: list[dict] = []
    for reason in dict.fromkeys(reason for reason, *_ in cells):
        colour, pattern = palette.reason_style(reason)
        bars = [(age, n, amount) for r, age, n, amount in cells if r == reason]
        _add(
            traces,
            "bar",
            name=reason.title(),
            x=[labels[age] for age, _, _ in bars],
            y=[amount for _, _, amount in bars],
            text=[str(n) for _, n, _ in bars],
            textposition="inside",
            marker={"color": colour, "pattern": {"shape": pattern}},
            customdata=[link(risk=reason, age=age) for age, _, _ in bars],
            hovertemplate=(
                f"{reason} for %{{x}}<br>%{{y:,.0f}} {currency} in %{{text}} transactions"
                "<extra></extra>"
            ),
        )
    xaxis = {"categoryorder": "array", "categoryarray": list(labels.values())}
    return _figure(traces, "Revenue at risk by age", currency, barmode="stack", xaxis=xaxis)


def breakdown(cells: Iterable[tuple[str, str, int, float]], currency: str, link) -> Chart:
    """Revenue at risk by region, one bar segment per business unit; each opens its list."""
    by_unit: dict[str, list[tuple[str, int, float]]] = {}
    for region, unit, count, amount in cells:
        by_unit.setdefault(unit or "(none)", []).append((region or "(none)", count, amount))
    traces: list[dict] = []
    for index, (unit, bars) in enumerate(sorted(by_unit.items())):
        _add(
            traces,
            "bar",
            name=unit,
            x=[region for region, _, _ in bars],
            y=[amount for _, _, amount in bars],
            text=[f"{count}" for _, count, _ in bars],
            textposition="inside",
            marker={"color": palette.SERIES[index % len(palette.SERIES)]},
            customdata=[
                link(risk="any", region=_blank(region), business_unit=_blank(unit))
                for region, _, _ in bars
            ],
            hovertemplate=(
                f"%{{x}} · {unit}<br>%{{y:,.0f}} {currency} in %{{text}} transactions"
                "<extra></extra>"
            ),
        )
    title = "Revenue at risk by region and business unit"
    return _figure(traces, title, currency, barmode="stack")


def breaks_by_kind(cells: list[tuple[str, str, int, float]], currency: str, link) -> Chart:
    """Open reconciliation breaks by kind: (kind, label, count, amount) each, the amount the
    bar and the count on it; each bar opens the contracts with such a break."""
    traces = [
        {
            "type": "bar",
            "name": "open breaks",
            "x": [label for _, label, _, _ in cells],
            "y": [amount for _, _, _, amount in cells],
            "text": [str(count) for _, _, count, _ in cells],
            "textposition": "outside",
            "marker": {"color": palette.SERIES[3 % len(palette.SERIES)]},
            "customdata": [link(kind) for kind, _, _, _ in cells],
            "hovertemplate": f"%{{x}}<br>%{{y:,.0f}} {currency} in %{{text}} breaks<extra></extra>",
        }
    ]
    return _figure(traces, "Reconciliation breaks by kind", currency, showlegend=False)


def funnel(stages: list[str], reached: list[int], stopped: dict[str, list[int]], link) -> Chart:
    """Stage to stage, and where transactions stopped (failed, stuck, still waiting)."""
    outcomes = list(stopped)
    # Counts in the labels, so each node says how many reached it or stopped there.
    labels = [f"{s.replace('_', ' ')} · {reached[i]}" for i, s in enumerate(stages)]
    labels += [f"{o.replace('_', ' ')} · {sum(stopped[o])}" for o in outcomes]
    node_colours = [palette.SERIES[0]] * len(stages)
    node_colours += [palette.status_colour(o) for o in outcomes]
    source, target, value, urls, colours = [], [], [], [], []
    for index in range(len(stages)):
        if index + 1 < len(stages) and reached[index + 1]:
            source.append(index)
            target.append(index + 1)
            value.append(reached[index + 1])
            urls.append(link(reached=stages[index + 1]))
            colours.append("rgba(0,114,178,0.35)")
        for offset, outcome in enumerate(outcomes):
            count = stopped[outcome][index]
            if count:
                source.append(index)
                target.append(len(stages) + offset)
                value.append(count)
                urls.append(link(stage=stages[index], status=outcome))
                colours.append(_alpha(palette.status_colour(outcome), 0.45))
    sankey = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {
            "label": labels,
            "color": node_colours,
            "pad": 22,
            "thickness": 16,
            "line": {"width": 0},
            "hovertemplate": "%{label}<extra></extra>",
        },
        "textfont": {"size": 11},
        "link": {
            "source": source,
            "target": target,
            "value": value,
            "customdata": urls,
            "color": colours,
            "hovertemplate": "%{source.label} → %{target.label}: %{value}<extra></extra>",
        },
    }
    return _figure(
        [sankey],
        "Contract to cash: stage to stage, and where it stops",
        # Room for the stages' labels to sit apart (a Sankey's labels do not dodge each other).
        height=HEIGHT + 80,
        margin={"l": 12, "r": 12, "t": 36, "b": 12},
    )


def _time_axis(moments: Iterable[str], grain: int | None = None) -> dict:
    """A time axis; with a single moment, an hour (or a bar's interval) either side of it:
    plotly would otherwise zoom into that one instant and label its ticks in fractions of
    a millisecond."""
    distinct = set(moments)
    if len(distinct) != 1:
        return {}
    moment = datetime.fromisoformat(distinct.pop())
    pad = max(PAD, timedelta(seconds=grain or 0))
    return {"type": "date", "range": [(moment - pad).isoformat(), (moment + pad).isoformat()]}


def _add(traces: list[dict], kind: str, **trace) -> None:
    traces.append({"type": kind, **trace})


def _blank(value: str) -> str:
    return "" if value == "(none)" else value


def _alpha(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
