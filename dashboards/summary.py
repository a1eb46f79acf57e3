"""The metrics summary of DESIGN.md, and the time series behind the charts."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum

from . import freshness
from .facts import latency_measures
from .models import RiskSnapshot, RiskSnapshotTaken, SlaPolicy
from .queries import (
    FILTERS,
    GRAIN_NAMES,
    BadQuery,
    Epoch,
    ceil,
    consistent_reads,
    filtered,
    floor,
    histogram,
    latest_risk,
    money,
    parse_window,
    pending,
    percentile,
    rollups,
    totals,
    window_bounds,
)
from .reconciliation import figures as reconciliation_figures

RISK_REASONS = ("failed", "stuck", "overdue", "leakage")
COUNT_METRICS = {
    "started": "started",
    "completed": "completed",
    "failed": "failed",
    "stuck": "stuck",
    "events_succeeded": "ev_ok",
    "events_failed": "ev_failed",
}
RATIO_METRICS = ("failure_rate", "sla_adherence", "latency_p50", "latency_p95")
SERIES_METRICS = (*COUNT_METRICS, *RATIO_METRICS, "revenue_at_risk")
GROUPS = (*FILTERS, "reason")
SNAPSHOT_SUMS = 7 * 24 * 3600  # seconds a series keeps its snapshots' sums after it was drawn


def _policies(filters: dict[str, str]) -> list[SlaPolicy]:
    policies = SlaPolicy.objects.filter(active=True).select_related("journey")
    if filters.get("journey"):
        policies = policies.filter(journey__slug=filters["journey"])
    return list(policies)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def cached_summary(window_text: str, filters: dict[str, str], now: datetime) -> dict:
    """``summary``, reused until the figures change or the window moves to the next bucket."""
    return freshness.cached_window(
        "summary", window_text, filters, now, lambda: summary(window_text, filters, now)
    )


def summary(window_text: str, filters: dict[str, str], now: datetime) -> dict:
    start, end = window_bounds(now, parse_window(window_text))
    latency = SlaPolicy.objects.filter(slug=settings.BILLING_LATENCY_POLICY).first()
    policies = _policies(filters)
    wanted = ["started", "ev_ok", "ev_failed"]
    for policy in policies:
        wanted += [f"sla_met:{policy.id}", f"sla_breached:{policy.id}"]
    if latency:
        wanted += latency_measures(latency.id)
    measures = totals(start, end, filters, wanted)

    def count(name: str) -> int:
        return int(measures.get(name, [0])[0] or 0)

    sla = []
    for policy in policies:
        met, breached = count(f"sla_met:{policy.id}"), count(f"sla_breached:{policy.id}")
        sla.append(
            {
                "policy": policy.slug,
                "name": policy.name,
                "met": met,
                "breached": breached,
                "adherence": _ratio(met, met + breached),
                "objective": float(policy.objective),
            }
        )
    bins = histogram(measures, latency.id) if latency else {}
    ok, failed = count("ev_ok"), count("ev_failed")
    taken, risk = latest_risk(filters)
    by_reason = {reason: money(risk.get(reason, [0, None])[1]) for reason in RISK_REASONS}
    at_risk = sum((risk.get(reason, [0, 0])[1] or 0 for reason in RISK_REASONS), 0)
    return {
        "currency": settings.REPORTING_CURRENCY,
        "window": window_text,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "revenue_at_risk": {"amount": money(at_risk), "by_reason": by_reason},
        "at_risk_soon": {"amount": money(risk.get("soon", [0, None])[1])},
        "sla": sla,
        "billing_latency": {
            "policy": latency.slug if latency else None,
            "p50_seconds": percentile(bins, 0.50),
            "p95_seconds": percentile(bins, 0.95),
            "count": sum(bins.values()),
        },
        "failure_rate": _ratio(failed, ok + failed),
        "stuck_count": int(risk.get("stuck", [0])[0] or 0),
        "transactions": count("started"),
        "as_of": taken.isoformat() if taken else None,
        "reconciliation": _reconciliation(filters),
    }


def _reconciliation(filters: dict[str, str]) -> dict:
    """The open reconciliation breaks (not windowed: they stand until settled)."""
    found = reconciliation_figures.totals(filters)
    return {"breaks": found["breaks"], "amount": money(found["amount"])}


def _grain(interval: str | None, window: timedelta) -> int:
    if not interval:
        return (
            300 if window <= timedelta(days=1) else 3600 if window <= timedelta(days=7) else 86400
        )
    if interval not in GRAIN_NAMES:
        raise BadQuery(f"interval must be one of {', '.join(GRAIN_NAMES)}")
    grain = GRAIN_NAMES[interval]
    if window / timedelta(seconds=grain) > 5000:
        raise BadQuery("too many points: use a longer interval or a shorter window")
    return grain


def series(
    metric: str,
    window_text: str,
    filters: dict[str, str],
    now: datetime,
    interval: str | None = None,
    group_by: str | None = None,
    policy: str | None = None,
) -> dict:
    if metric not in SERIES_METRICS:
        raise BadQuery(f"metric must be one of {', '.join(SERIES_METRICS)}")
    if group_by and group_by not in GROUPS:
        raise BadQuery(f"group_by must be one of {', '.join(GROUPS)}")
    if group_by == "reason" and metric != "revenue_at_risk":
        raise BadQuery("group_by=reason applies to revenue_at_risk only")
    grain, start, end = _span(window_text, now, interval)
    if metric == "revenue_at_risk":
        points = _risk_series(start, end, grain, filters, group_by)
    else:
        points = _rollup_series(metric, start, end, grain, filters, group_by, policy)
    return {
        "metric": metric,
        "interval": next(name for name, seconds in GRAIN_NAMES.items() if seconds == grain),
        "window": window_text,
        "currency": settings.REPORTING_CURRENCY,
        "series": [
            {"group": group, "points": [{"t": t.isoformat(), "value": v} for t, v in pts]}
            for group, pts in sorted(points.items(), key=lambda item: str(item[0]))
        ],
    }


def grain_of(window_text: str) -> int:
    """The seconds of one point of a series over this window, at its default interval."""
    return _grain(None, parse_window(window_text))


def _span(window_text: str, now: datetime, interval: str | None) -> tuple[int, datetime, datetime]:
    """A series' interval and [start, end): the window, widened to whole intervals."""
    window = parse_window(window_text)
    grain = _grain(interval, window)
    start, end = window_bounds(now, window)
    return grain, floor(start, grain), end


def _rollup_series(metric, start, end, grain, filters, group_by, policy_slug):
    measures = _measures(metric, policy_slug)
    return _points(metric, _cells(grain, start, end, filters, measures, group_by))


def latency_series(
    window_text: str, filters: dict[str, str], now: datetime, policy_slug: str
) -> dict[str, list[dict]]:
    """p50 and p95 points of a policy's latency, as ``series`` gives them, from one read."""
    grain, start, end = _span(window_text, now, None)
    cells = _cells(grain, start, end, filters, _measures("latency_p50", policy_slug), None)
    return {
        metric: [{"t": t.isoformat(), "value": v} for t, v in _points(metric, cells).get(None, [])]
        for metric in ("latency_p50", "latency_p95")
    }


def _measures(metric: str, policy_slug: str | None) -> list[str]:
    if metric in ("sla_adherence", "latency_p50", "latency_p95"):
        slug = policy_slug or settings.BILLING_LATENCY_POLICY
        found = SlaPolicy.objects.filter(slug=slug).first()
        if found is None:
            raise BadQuery(f"unknown SLA policy {slug!r}")
        if metric == "sla_adherence":
            return [f"sla_met:{found.id}", f"sla_breached:{found.id}"]
        return latency_measures(found.id)
    if metric == "failure_rate":
        return ["ev_ok", "ev_failed"]
    return [COUNT_METRICS[metric]]


def _cells(
    grain: int,
    start: datetime,
    end: datetime,
    filters: dict[str, str],
    measures: list[str],
    group_by: str | None,
) -> dict[object, dict[datetime, dict[str, int]]]:
    """group -> bucket -> measure -> count, from the rollups and the pending differences."""
    keys = ["t", "measure", *([group_by] if group_by else [])]
    sums: dict[tuple, int] = defaultdict(int)
    with consistent_reads():
        rows = rollups(grain, filters, group_by).filter(bucket__gte=start, bucket__lt=end)
        for source, step in (
            (rows.filter(measure__any=measures), 0),
            # 5-minute buckets, floored to the grain: up to the end of the last interval,
            # which the rollup row of that interval covers (events may come early).
            (pending(start, ceil(end, grain), filters, measures), grain),
        ):
            # Tuples, not dicts, and buckets as numbers: a 7-day latency chart reads
            # thousands of (hour, bin) rows for 168 distinct hours.
            for t, measure, n, *group in (
                source.annotate(t=Epoch("bucket"))
                .values(*keys)
                .annotate(n=Sum("count"))
                .order_by()
                .values_list(*keys[:2], "n", *keys[2:])
            ):
                sums[(t - t % step if step else t, measure, *group)] += n
    cells: dict[object, dict[datetime, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    moments: dict[int, datetime] = {}
    for (t, measure, *group), n in sums.items():
        if not n:
            continue  # a pending difference took it to nothing, as a fold would
        bucket = moments.get(t)
        if bucket is None:
            bucket = moments[t] = datetime.fromtimestamp(t, tz=UTC)
        cells[group[0] if group else None][bucket][measure] = n
    return cells


def _points(metric: str, cells: dict) -> dict[object, list]:
    return {
        group: [(bucket, _value(metric, buckets[bucket])) for bucket in sorted(buckets)]
        for group, buckets in cells.items()
    }


def _value(metric: str, measures: dict[str, int]) -> float | int | None:
    if metric in COUNT_METRICS:
        return int(sum(measures.values()))
    if metric == "failure_rate":
        ok, bad = measures.get("ev_ok", 0), measures.get("ev_failed", 0)
        return _ratio(bad, ok + bad)
    if metric == "sla_adherence":
        met = sum(v for k, v in measures.items() if k.startswith("sla_met:"))
        breached = sum(v for k, v in measures.items() if k.startswith("sla_breached:"))
        return _ratio(met, met + breached)
    bins = {int(k.rsplit(":", 1)[1]): v for k, v in measures.items()}
    return percentile(bins, 0.5 if metric == "latency_p50" else 0.95)


def _risk_series(start, end, grain, filters, group_by):
    """The last snapshot taken in each interval, summed per group."""
    latest: dict[datetime, tuple[datetime, int]] = {}
    taken = RiskSnapshotTaken.objects.filter(taken_at__gte=start, taken_at__lt=end)
    for moment, token in taken.values_list("taken_at", "token"):
        bucket = floor(moment, grain)
        if bucket not in latest or moment > latest[bucket][0]:
            latest[bucket] = (moment, token)
    chosen = sorted(latest.values())
    sums = _snapshot_sums(chosen, filters, group_by, grain)
    out: dict[object, list] = defaultdict(list)
    for moment, _ in chosen:
        for group, amount in sums[moment].items():
            out[group].append((floor(moment, grain), amount))
    return out


def _snapshot_sums(
    chosen: list[tuple[datetime, int]], filters: dict[str, str], group_by: str | None, grain: int
) -> dict[datetime, dict[object, float]]:
    """Each chosen snapshot's money at risk per group (reason ``soon`` left out).

    A snapshot never changes once taken, so its sums are kept in the cache by its token,
    whatever the metrics version: one entry per filters, grouping and interval, holding the
    snapshots that series last showed. A series then reads from the table only those taken
    since it was last drawn (a 7-day hourly chart: 168 snapshots, 200,000 rows, otherwise).
    """
    key = freshness.key("risk-sums", [filters, group_by, grain])
    held: dict[int, dict] = cache.get(key) or {}
    out = {moment: held[token] for moment, token in chosen if token in held}
    missing = [moment for moment, _ in chosen if moment not in out]
    if not missing:
        return out
    rows = filtered(
        RiskSnapshot.objects.filter(taken_at__in=missing).exclude(reason="soon"), filters
    )
    fields = ["taken_at", *([group_by] if group_by else [])]
    computed: dict[datetime, dict[object, float]] = {moment: {} for moment in missing}
    for taken_at, amount, *group in (
        rows.values(*fields)
        .annotate(money=Sum("amount"))
        .order_by()
        .values_list("taken_at", "money", *fields[1:])
    ):
        computed[taken_at][group[0] if group else None] = round(float(amount), 2)
    out |= computed
    cache.set(key, {token: out[moment] for moment, token in chosen}, SNAPSHOT_SUMS)
    return out
