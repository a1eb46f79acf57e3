"""The layout of a trace waterfall: spans in tree order with their depth, each bar placed in
percent of its trace's own extent, status reports on the same time line, and axis ticks.

Pure functions over plain dicts, drawn by ``dashboards/waterfall.html`` as server-rendered
SVG (percent ``x``/``width`` presentation attributes), so the page needs no script and no
inline style. A span dict: ``trace_id``, ``span_id``, ``parent`` (blank for a root),
``name``, ``service``, ``start``, ``end``, ``error`` (bool) and whatever else the template
shows; a report dict: ``at``, ``stage``, ``status``, ``error``, ``trace_id`` (blank when
it came from the events API).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

MAX_INDENT = 12  # deeper spans are drawn at this indent; the stylesheet has one rule each
MIN_WIDTH = 0.2  # percent: an instantaneous span still shows as a sliver
MAX_TICKS = 8
# Tick steps in seconds that read well on a clock: 1-2-5 below a second, then the
# seconds, minutes, hours and days people count in.
STEPS = (
    *(m * 10.0**e for e in range(-6, 0) for m in (1, 2, 5)),
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 90 * 86400, 365 * 86400,
)  # fmt: skip
UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"), (1e-3, "ms"), (1e-6, "µs"))


@dataclass
class Tick:
    at: float  # percent of the extent
    label: str
    anchor: str = "middle"  # the SVG text-anchor that keeps the label inside the axis

    @property
    def x(self) -> str:
        return percent(self.at)


@dataclass
class Row:
    kind: str  # "span" or "report"
    item: dict
    at: float  # percent: where the bar starts, or where the report is
    width: float = 0.0  # percent; reports have none
    depth: int = 0
    offset: str = ""  # "+12 ms": from the start of the extent
    duration: str = ""
    under: str = ""  # for a span whose parent is drawn on an earlier page: the parent's name

    @property
    def x(self) -> str:
        return percent(self.at)

    @property
    def w(self) -> str:
        return percent(self.width)

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_INDENT)


@dataclass
class Block:
    """One trace's spans on one page, on the trace's own time line."""

    trace_id: str
    start: datetime
    end: datetime
    rows: list[Row] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    continued: bool = False  # the trace began on an earlier page

    @property
    def duration(self) -> str:
        return human_duration((self.end - self.start).total_seconds())

    @property
    def span_count(self) -> int:
        return sum(1 for row in self.rows if row.kind == "span")


def percent(value: float) -> str:
    """A percentage for an SVG attribute: dot-decimal whatever the locale, no float noise."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text or '0'}%"


def _key(span: dict) -> tuple[str, str]:
    return span["trace_id"], span["span_id"]


def tree_order(
    spans: list[dict], outside: dict[tuple[str, str], tuple[int, str]] | None = None
) -> list[tuple[dict, int, str]]:
    """Spans as (span, depth, parent name drawn elsewhere), each parent before its children,
    siblings by start.

    A span whose parent is not among ``spans`` is a root here: at depth 0 when its parent was
    never stored (an orphan), or one below the depth ``outside`` gives for that parent (a
    parent on an earlier page), with the parent's name. Spans in a cycle of parents (a
    client's bug) come out as roots rather than vanish.
    """
    outside = outside or {}
    position = {id(span): index for index, span in enumerate(spans)}
    ids = {_key(span) for span in spans}
    children: dict[tuple[str, str], list[dict]] = defaultdict(list)
    roots = []
    for span in spans:
        parent = (span["trace_id"], span["parent"])
        if span["parent"] and parent in ids and parent != _key(span):
            children[parent].append(span)
        else:
            roots.append(span)

    def by_start(span: dict):
        return span["start"], position[id(span)]

    out: list[tuple[dict, int, str]] = []
    seen: set[tuple[str, str]] = set()

    def walk(root: dict) -> None:
        depth, under = 0, ""
        parent = (root["trace_id"], root["parent"])
        if root["parent"] and parent in outside:
            above, under = outside[parent]
            depth = above + 1
        stack = [(root, depth, under)]
        while stack:
            span, depth, under = stack.pop()
            if _key(span) in seen:
                continue
            seen.add(_key(span))
            out.append((span, depth, under))
            kids = sorted(children.get(_key(span), []), key=by_start)
            stack.extend((kid, depth + 1, "") for kid in reversed(kids))

    for root in sorted(roots, key=by_start):
        walk(root)
    for span in spans:
        if _key(span) not in seen:
            walk(span)
    return out


def extent(spans: list[dict]) -> tuple[datetime, datetime]:
    """Earliest start to latest end (or start, for a span that ends before it starts)."""
    start = min(span["start"] for span in spans)
    end = max(max(span["end"], span["start"]) for span in spans)
    return start, end


def place(start: datetime, end: datetime, first: datetime, last: datetime) -> tuple[float, float]:
    """Where a bar from ``start`` to ``end`` begins and how wide it is, in percent of the
    extent from ``first`` to ``last``; at least ``MIN_WIDTH`` wide, never past the edge."""
    total = (last - first).total_seconds()
    if total <= 0:
        return 0.0, 100.0 if end > start else MIN_WIDTH
    at = (start - first).total_seconds() / total * 100
    width = max((end - start).total_seconds() / total * 100, MIN_WIDTH)
    at = min(max(at, 0.0), 100.0 - width)
    return round(at, 3), round(min(width, 100.0), 3)


def point(moment: datetime, first: datetime, last: datetime) -> float:
    total = (last - first).total_seconds()
    if total <= 0:
        return 0.0
    return round(min(max((moment - first).total_seconds() / total * 100, 0.0), 100.0), 3)


def human_duration(seconds: float) -> str:
    """12.5 ms, 1.25 s, 3 min, 2.5 h: the largest unit the duration fills."""
    if seconds == 0:
        return "0"
    size = abs(seconds)
    unit, name = next(((u, n) for u, n in UNITS if size >= u), UNITS[-1])
    value = seconds / unit
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {name}"


def ticks(seconds: float) -> list[Tick]:
    """Ticks at a round step, at most ``MAX_TICKS`` intervals, labelled from the start."""
    if seconds <= 0:
        return [Tick(0.0, "0", "start")]
    step = next((s for s in STEPS if seconds / s <= MAX_TICKS), None)
    if step is None:  # beyond the longest step: a round number of years
        step = STEPS[-1] * -(-seconds // (STEPS[-1] * MAX_TICKS))
    out = []
    n = 0
    while n * step <= seconds * (1 + 1e-9):
        at = round(n * step / seconds * 100, 3)
        anchor = "start" if n == 0 else "end" if at > 95 else "middle"
        out.append(Tick(min(at, 100.0), human_duration(n * step), anchor))
        n += 1
    return out


def _offset(moment: datetime, first: datetime) -> str:
    return "+" + human_duration((moment - first).total_seconds())


def block(
    trace_id: str,
    spans: list[dict],
    reports: list[dict],
    outside: dict[tuple[str, str], tuple[int, str]] | None = None,
    continued: bool = False,
    window: tuple[datetime, datetime] | None = None,
) -> Block:
    """One trace's rows: its status reports first (they say what the trace did to the
    ledger), then its spans in tree order, all on ``window`` (by default the spans'
    extent)."""
    if window is None:
        window = extent(spans) if spans else extent_of_reports(reports)
    first, last = window
    out = Block(trace_id, first, last, continued=continued)
    for report in sorted(reports, key=lambda r: r["at"]):
        at = max(min(report["at"], last), first)  # a span-made report ends with its span
        out.rows.append(
            Row("report", report, point(at, first, last), offset=_offset(report["at"], first))
        )
    for span, depth, under in tree_order(spans, outside):
        at, width = place(span["start"], span["end"], first, last)
        out.rows.append(
            Row(
                "span",
                span,
                at,
                width,
                depth=depth,
                offset=_offset(span["start"], first),
                duration=human_duration((span["end"] - span["start"]).total_seconds()),
                under=under,
            )
        )
    out.ticks = ticks((last - first).total_seconds())
    return out


def extent_of_reports(reports: list[dict]) -> tuple[datetime, datetime]:
    moments = [report["at"] for report in reports]
    return min(moments), max(moments)


def blocks(
    spans: list[dict],
    reports: list[dict],
    outside: dict[tuple[str, str], tuple[int, str]] | None = None,
    first_page: bool = True,
    bounds: dict[str, tuple[datetime, datetime]] | None = None,
) -> list[Block]:
    """A page of spans (in start order) as one block per trace, in the order the traces
    start; each status report on the block of its own trace, or else on the first block
    whose extent holds it.

    A trace whose spans continue from an earlier page (a span's parent drawn there) is
    ``continued``: its reports were drawn with its first part. ``bounds`` widens a trace's
    extent to that of its spans' ancestors drawn elsewhere (a trace's root spans it), so
    its continuation keeps the scale and the offsets of its first part. With no span at
    all, the reports alone make one block on their own extent, so a transaction reported
    only through the events API still has its time line.
    """
    outside = outside or {}
    bounds = bounds or {}
    if not spans:
        return [block("", [], reports)] if reports and first_page else []
    by_trace: dict[str, list[dict]] = {}
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
    continued = {
        trace_id: not first_page and any((s["trace_id"], s["parent"]) in outside for s in members)
        for trace_id, members in by_trace.items()
    }
    extents = {}
    for trace_id, members in by_trace.items():
        first, last = extent(members)
        if trace_id in bounds:
            first, last = min(first, bounds[trace_id][0]), max(last, bounds[trace_id][1])
        extents[trace_id] = (first, last)
    placed: dict[str, list[dict]] = defaultdict(list)
    for report in reports:
        home = report.get("trace_id", "")
        if not home:
            # A report made through the events API: on whichever trace was running then.
            home = next(
                (t for t, (a, b) in extents.items() if a <= report["at"] <= b and not continued[t]),
                "",
            )
        if home in by_trace and not continued[home]:
            placed[home].append(report)
    return [
        block(trace_id, members, placed[trace_id], outside, continued[trace_id], extents[trace_id])
        for trace_id, members in by_trace.items()
    ]
