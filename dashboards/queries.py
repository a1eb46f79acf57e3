"""Read the pre-computed figures: windows over rollups, and the latest risk snapshot.

A window is covered with the coarsest rollup rows that fit (days, then hours, then
5-minute buckets at its edges), so a 30-day figure reads a few thousand rows at most.
The differences a refresh left pending (``PendingRollup``) are added, read in the same
snapshot as the rollups (``consistent_reads``).
"""

import math
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BigIntegerField, Func, Max, QuerySet, Sum

from .facts import bin_bounds
from .models import CoarseRollup, PendingRollup, RiskSnapshot, Rollup
from .models.facts import COARSE_DIMENSIONS

FILTERS = ("journey", "flow", "region", "business_unit", "legal_entity")
GRAIN_NAMES = {"5m": 300, "1h": 3600, "1d": 86400}
_WINDOW = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_WINDOW = timedelta(days=400)
CENT = Decimal("0.01")


class BadQuery(ValueError):
    """A parameter the caller must fix; the message says how."""


class Epoch(Func):
    """A timestamp as whole seconds since 1970.

    Series read thousands of (bucket, measure) rows; each timestamp through Django's
    time-zone-aware loader costs several microseconds, an integer next to nothing.
    """

    output_field = BigIntegerField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)"

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores UTC text; julianday() reads it (no strftime: its '%s' is a placeholder).
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)",
            **extra,
        )


def parse_window(text: str) -> timedelta:
    match = _WINDOW.match(text or "")
    if not match:
        raise BadQuery("window must be a number and a unit h, d or w, e.g. 24h, 30d, 12w")
    window = int(match[1]) * _UNITS[match[2]]
    if not timedelta(0) < window <= MAX_WINDOW:
        raise BadQuery("window must be between 1h and 400d")
    return window


def floor(moment: datetime, grain: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % grain, tz=UTC)


def ceil(moment: datetime, grain: int) -> datetime:
    low = floor(moment, grain)
    return low if low == moment else low + timedelta(seconds=grain)


def window_bounds(now: datetime, window: timedelta) -> tuple[datetime, datetime]:
    """[start, end): the 5-minute buckets from now - window up to and with the current one."""
    return floor(now - window, 300), floor(now, 300) + timedelta(minutes=5)


def cover(start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    hour_a, hour_b = ceil(start, 3600), floor(end, 3600)
    if hour_a >= hour_b:
        return [(300, start, end)]
    parts = [(300, start, hour_a), (300, hour_b, end)]
    day_a, day_b = ceil(hour_a, 86400), floor(hour_b, 86400)
    if day_a >= day_b:
        parts.append((3600, hour_a, hour_b))
    else:
        parts += [(3600, hour_a, day_a), (3600, day_b, hour_b), (86400, day_a, day_b)]
    return [(grain, a, b) for grain, a, b in parts if a < b]


def filtered(queryset: QuerySet, filters: dict[str, str]) -> QuerySet:
    return queryset.filter(**{name: value for name, value in filters.items() if value})


def rollups(grain: int, filters: dict[str, str], group_by: str | None = None) -> QuerySet:
    """The rollup rows of a grain under these filters.

    Hours and days come from ``CoarseRollup`` when the filters and grouping name none of
    the dimensions it leaves out: the same sums from 4 to 9 times fewer rows at the
    bench's size. Five-minute rows (windows' edges, a day's series) are only in ``Rollup``.
    """
    named = {name for name, value in filters.items() if value} | {group_by} - {None}
    coarse = grain != 300 and named <= set(COARSE_DIMENSIONS)
    model = CoarseRollup if coarse else Rollup
    return filtered(model.objects.filter(grain=grain), filters)


@contextmanager
def consistent_reads() -> Iterator[None]:
    """The reads inside see one snapshot of the database.

    A fold moves a batch of differences from the pending rollups into the rollups in one
    commit; read in two snapshots, a figure would count them twice or not at all. Call it
    outside any transaction: inside one already (a test's), the reads share that one's
    snapshots, whatever they are.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():  # SQLite: one read transaction is one snapshot
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def pending(
    start: datetime, end: datetime, filters: dict[str, str], measures: Collection[str] | None
) -> QuerySet:
    """The differences not yet folded into the rollups, of 5-minute buckets in [start, end)."""
    rows = filtered(PendingRollup.objects.filter(bucket__gte=start, bucket__lt=end), filters)
    return rows if measures is None else rows.filter(measure__any=list(measures))


def window_rows(
    start: datetime,
    end: datetime,
    filters: dict[str, str],
    measures: Collection[str] | None = None,
    group_by: str | None = None,
) -> list[QuerySet]:
    """The rows that add up to [start, end): the rollups of each grain of its cover, then
    the pending differences. Evaluate them inside ``consistent_reads``."""
    reads = [
        rollups(grain, filters, group_by).filter(bucket__gte=a, bucket__lt=b)
        for grain, a, b in cover(start, end)
    ]
    if measures is not None:
        reads = [rows.filter(measure__any=list(measures)) for rows in reads]
    return [*reads, pending(start, end, filters, measures)]


def totals(
    start: datetime,
    end: datetime,
    filters: dict[str, str],
    measures: Collection[str] | None = None,
) -> dict[str, list]:
    """measure -> [count, amount] over [start, end) of these measures (else of all).

    One query per grain of the cover, summed here: glued into one UNION ALL, PostgreSQL
    plans them as a parallel append, which cost more than the round trips it saves. Named
    measures are read through the (measure, bucket) indexes, hours and days from those
    indexes alone, so a window costs the rows of the measures asked for, not of all of them.
    """
    out: dict[str, list] = {}
    with consistent_reads():
        for rows in window_rows(start, end, filters, measures):
            for measure, count, amount in (
                rows.values("measure")
                .annotate(n=Sum("count"), money=Sum("amount"))
                .order_by()
                .values_list("measure", "n", "money")
            ):
                held = out.get(measure)
                if held is None:
                    out[measure] = [count, amount]
                else:
                    held[0] += count
                    held[1] += amount
    # A pending difference can take a count to nothing, as a fold would delete its row.
    return {measure: held for measure, held in out.items() if held[0]}


def percentile(histogram: dict[int, int], share: float) -> float | None:
    """The nearest-rank percentile, as the geometric middle of its bin (within one bin)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            low, high = bin_bounds(index)
            return high / 2 if index == 0 else math.sqrt(low * high)
    return None  # pragma: no cover - the ranks add up to total


def histogram(measures: dict[str, list], policy_id: int) -> dict[int, int]:
    prefix = f"latency:{policy_id}:"
    return {
        int(name[len(prefix) :]): values[0]
        for name, values in measures.items()
        if name.startswith(prefix)
    }


def money(amount: Decimal | None) -> str:
    return str((amount or Decimal(0)).quantize(CENT))


def latest_risk(filters: dict[str, str]) -> tuple[datetime | None, dict[str, list]]:
    """reason -> [count, amount] of the latest snapshot, and when it was taken."""
    taken = RiskSnapshot.objects.aggregate(last=Max("taken_at"))["last"]
    if taken is None:
        return None, {}
    rows = (
        filtered(RiskSnapshot.objects.filter(taken_at=taken), filters)
        .values("reason")
        .annotate(n=Sum("count"), money=Sum("amount"))
        .order_by()
    )
    return taken, {row["reason"]: [row["n"], row["money"]] for row in rows}
