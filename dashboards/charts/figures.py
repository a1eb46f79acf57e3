"""Plotly figures built on the server and sent to the page as JSON.

Every figure has the same size rules, font and palette (``palette``), and every clickable
mark carries the URL it drills into in ``customdata``: ``static/js/charts.js`` follows it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import plotly.io as pio
from django.utils.safestring import SafeString, mark_safe

from . import palette

HEIGHT = 300
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


def risk_over_time(series: list[dict], currency: str, link) -> Chart:
    """Revenue at risk stacked by reason; a click opens today's list for that reason."""
    traces = []
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
        )
    return _figure(traces, "Revenue at risk over time, by reason", currency, barmode="stack")


def sla_trend(points: list[dict], objective: float | None, name: str) -> Chart:
    traces: list[dict] = []
    _add(
        traces,
        "scatter",
        name="Adherence",
        x=[p["t"] for p in points],
        y=[p["value"] for p in points],
        mode="lines+markers",
        line={"color": palette.SERIES[0]},
        hovertemplate="%{x}<br>%{y:.1%}<extra></extra>",
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
    return _figure(traces, f"SLA adherence: {name}", yaxis=yaxis)


def latency(percentiles: dict[str, list[dict]], name: str) -> Chart:
    """Billing latency percentiles over time, in hours."""
    traces: list[dict] = []
    for label, points in percentiles.items():
        _add(
            traces,
            "scatter",
            name=label,
            x=[p["t"] for p in points],
            y=[None if p["value"] is None else p["value"] / 3600 for p in points],
            mode="lines+markers",
            line={"color": palette.PERCENTILE.get(label, palette.SERIES[2])},
            hovertemplate=f"%{{x}}<br>{label}: %{{y:,.1f}} h<extra></extra>",
        )
    return _figure(traces, f"Billing latency percentiles: {name}", "hours")


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
    labels = [s.replace("_", " ") for s in stages]
    outcomes = list(stopped)
    labels += [o.replace("_", " ") for o in outcomes]
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
        "node": {"label": labels, "pad": 14, "thickness": 14},
        "link": {
            "source": source,
            "target": target,
            "value": value,
            "customdata": urls,
            "color": colours,
            "hovertemplate": "%{source.label} → %{target.label}: %{value}<extra></extra>",
        },
    }
    return _figure([sankey], "Contract to cash: stage to stage, and where it stops")


def _add(traces: list[dict], kind: str, **trace) -> None:
    traces.append({"type": kind, **trace})


def _blank(value: str) -> str:
    return "" if value == "(none)" else value


def _alpha(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
