"""The figures of the overview page, read from the summary, the risk snapshots and rollups.

Each is cached under the metrics version (``freshness``), so a page view between two
refreshes reads nothing but the cache.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from tracking.models import Journey, Stage, TransactionStatus

from . import freshness
from .facts import latency_measures
from .models import RiskSnapshot, SlaPolicy
from .models.risk import RiskAge
from .queries import filtered, histogram, parse_window, percentile, totals, window_bounds
from .summary import cached_summary, series

CYCLE_POLICY = "month-end-cutoff"  # work approved -> invoice generated: the invoice cycle
FUNNEL_OUTCOMES = (TransactionStatus.FAILED, TransactionStatus.STUCK, TransactionStatus.IN_PROGRESS)


@dataclass
class Figures:
    summary: dict
    risk_change: Decimal | None
    cycle: dict
    risk_series: list[dict]


def figures(window: str, filters: dict[str, str], now: datetime) -> Figures:
    summary = cached_summary(window, filters, now)
    risk = freshness.cached_window(
        "risk-series",
        window,
        filters,
        now,
        lambda: series("revenue_at_risk", window, filters, now, group_by="reason")["series"],
    )
    return Figures(
        summary=summary,
        risk_change=_change(risk, Decimal(summary["revenue_at_risk"]["amount"])),
        cycle=_cycle(window, filters, now),
        risk_series=risk,
    )


def _change(risk: list[dict], current: Decimal) -> Decimal | None:
    """Revenue at risk now, less its first recorded value in the period."""
    firsts = [group["points"][0] for group in risk if group["points"]]
    if not firsts:
        return None
    start = min(point["t"] for point in firsts)
    then = sum(Decimal(str(p["value"] or 0)) for p in firsts if p["t"] == start)
    return (current - then).quantize(Decimal("0.01"))


def _cycle(window: str, filters: dict[str, str], now: datetime) -> dict:
    """p50 / p95 of work approved -> invoice generated, from its policy's histogram."""
    policy = SlaPolicy.objects.filter(slug=CYCLE_POLICY).first()
    if policy is None:
        return {"p50_seconds": None, "p95_seconds": None, "count": 0}

    def compute() -> dict:
        start, end = window_bounds(now, parse_window(window))
        measures = totals(start, end, filters, latency_measures(policy.id))
        bins = histogram(measures, policy.id)
        return {
            "p50_seconds": percentile(bins, 0.5),
            "p95_seconds": percentile(bins, 0.95),
            "count": sum(bins.values()),
        }

    return freshness.cached_window("cycle", window, filters, now, compute)


def breakdown(filters: dict[str, str]) -> tuple[datetime | None, list[tuple]]:
    """(region, business unit, count, amount) at risk in the latest snapshot."""

    def compute() -> tuple[datetime | None, list[tuple]]:
        taken = RiskSnapshot.objects.order_by("-taken_at").values_list("taken_at", flat=True)
        taken = taken.first()
        if taken is None:
            return None, []
        rows = (
            filtered(RiskSnapshot.objects.filter(taken_at=taken), filters)
            .exclude(reason="soon")
            .values_list("region", "business_unit")
            .annotate(n=Sum("count"), money=Sum("amount"))
            .order_by("region", "business_unit")
        )
        return taken, [(r, u, int(n), float(m or 0)) for r, u, n, m in rows]

    return freshness.cached("breakdown", [filters], compute)


def by_age(filters: dict[str, str]) -> tuple[datetime | None, list[tuple]]:
    """(reason, age, count, amount) at risk in the latest snapshot, oldest ages last."""

    def compute() -> tuple[datetime | None, list[tuple]]:
        taken = RiskSnapshot.objects.order_by("-taken_at").values_list("taken_at", flat=True)
        taken = taken.first()
        if taken is None:
            return None, []
        rows = (
            filtered(RiskSnapshot.objects.filter(taken_at=taken), filters)
            .exclude(reason="soon")
            .exclude(count=0)
            .values_list("reason", "age")
            .annotate(n=Sum("count"), money=Sum("amount"))
            .order_by()
        )
        order = {age: index for index, age in enumerate(RiskAge.values)}
        cells = sorted(
            ((r, a, int(n), float(m or 0)) for r, a, n, m in rows), key=lambda c: order[c[1]]
        )
        return taken, cells

    return freshness.cached("by-age", [filters], compute)


def funnel(journey_slug: str, window: str, filters: dict[str, str], now: datetime) -> dict:
    """For transactions of a journey started in the window: how many reached each stage,
    and how many stopped at each, by status (failed, stuck, still in progress).

    Read from the ``stage:<stage id>:<status>`` rollups, counted at each start.
    """

    def compute() -> dict:
        journey = Journey.objects.filter(slug=journey_slug).first()
        if journey is None:
            return {"stages": [], "reached": [], "stopped": {}}
        stages = list(Stage.objects.filter(journey=journey).order_by("position"))
        position = {stage.id: index for index, stage in enumerate(stages)}
        start, end = window_bounds(now, parse_window(window))
        scoped = {**filters, "journey": journey_slug}
        names = [f"stage:{s.id}:{status}" for s in stages for status in TransactionStatus.values]
        measures = totals(start, end, scoped, names)
        at = [0] * len(stages)
        stopped = {str(o): [0] * len(stages) for o in FUNNEL_OUTCOMES}
        for name, (n, _) in measures.items():
            _, stage_id, status = name.split(":")
            index = position.get(int(stage_id))
            if index is None:
                continue
            at[index] += n
            if status in stopped:
                stopped[status][index] += n
        reached = [sum(at[i:]) for i in range(len(stages))]
        return {"stages": [s.slug for s in stages], "reached": reached, "stopped": stopped}

    return freshness.cached_window("funnel", window, filters, now, compute, journey_slug)
