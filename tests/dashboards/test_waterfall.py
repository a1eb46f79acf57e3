"""The waterfall's layout: tree order and depth, bars in percent of the trace's extent,
status reports on the same time line, axis ticks a person can read."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboards.charts import waterfall

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ms(n: float) -> datetime:
    return T0 + timedelta(milliseconds=n)


def span(span_id: str, parent: str = "", start: float = 0, end: float = 1, **extra) -> dict:
    return {
        "trace_id": extra.pop("trace_id", "t1"),
        "span_id": span_id,
        "parent": parent,
        "name": span_id,
        "start": ms(start),
        "end": ms(end),
        "error": False,
        **extra,
    }


def report(at: float, status: str = "succeeded", trace_id: str = "", **extra) -> dict:
    return {"at": ms(at), "stage": "invoice_posted", "status": status, "error": "",
            "trace_id": trace_id, **extra}  # fmt: skip


def order(spans: list[dict], outside=None) -> list[tuple[str, int]]:
    return [(s["span_id"], depth) for s, depth, _ in waterfall.tree_order(spans, outside)]


def test_children_follow_their_parent_by_start_and_indent():
    spans = [
        span("root", start=0, end=10),
        span("late", "root", 6, 9),
        span("early", "root", 1, 5),
        span("grandchild", "early", 2, 3),
        span("second-root", start=3, end=4),
    ]
    assert order(spans) == [
        ("root", 0),
        ("early", 1),
        ("grandchild", 2),
        ("late", 1),
        ("second-root", 0),
    ]


def test_orphans_whose_parent_is_not_stored_are_roots():
    spans = [span("a", start=0, end=5), span("orphan", "never-came", 1, 2)]
    assert order(spans) == [("a", 0), ("orphan", 0)]


def test_a_parent_on_an_earlier_page_keeps_its_childrens_depth():
    spans = [span("c", "b", 5, 6), span("d", "c", 5.5, 6)]
    rows = waterfall.tree_order(spans, {("t1", "b"): (1, "step b")})
    assert [(s["span_id"], depth, under) for s, depth, under in rows] == [
        ("c", 2, "step b"),
        ("d", 3, ""),
    ]


def test_spans_of_another_trace_do_not_adopt_a_same_named_parent():
    spans = [span("p", start=0, end=2), span("k", "p", 1, 2, trace_id="t2")]
    assert order(spans) == [("p", 0), ("k", 0)]


def test_a_cycle_of_parents_neither_hangs_nor_loses_spans():
    spans = [span("x", "y", 0, 1), span("y", "x", 1, 2), span("self", "self", 2, 3)]
    assert sorted(order(spans)) == [("self", 0), ("x", 0), ("y", 1)]


def test_a_5_ms_span_in_a_10_ms_trace_is_half_wide():
    (block,) = waterfall.blocks([span("root", start=0, end=10), span("k", "root", 5, 10)], [])
    root, kid = block.rows
    assert (root.at, root.width) == (0.0, 100.0)
    assert (kid.at, kid.width) == (50.0, 50.0)
    assert (kid.x, kid.w) == ("50%", "50%")
    assert kid.duration == "5 ms" and kid.offset == "+5 ms"


def test_an_instant_span_still_shows_and_stays_inside_the_axis():
    at, width = waterfall.place(ms(10), ms(10), ms(0), ms(10))
    assert width == waterfall.MIN_WIDTH and at + width <= 100
    # A trace of one instant: the bar is a sliver at the start, not a division by zero.
    assert waterfall.place(ms(3), ms(3), ms(3), ms(3)) == (0.0, waterfall.MIN_WIDTH)


def test_each_trace_has_its_own_time_line():
    spans = [
        span("a", start=0, end=10),
        # Hours later: on one axis both would be hairlines.
        span("b", start=3_600_000, end=3_600_020, trace_id="t2"),
    ]
    first, second = waterfall.blocks(spans, [])
    assert [b.trace_id for b in (first, second)] == ["t1", "t2"]
    assert first.rows[0].width == 100.0 and second.rows[0].width == 100.0
    assert first.duration == "10 ms" and second.duration == "20 ms"


def test_reports_go_on_the_trace_they_happened_in():
    spans = [span("a", start=0, end=10), span("b", start=100, end=110, trace_id="t2")]
    reports = [
        report(5, "failed", error="ERP-422"),  # events API, during t1
        report(110, trace_id="t2"),  # made from t2's span: its end
        report(5_000),  # long after both: in the table only
    ]
    first, second = waterfall.blocks(spans, reports)
    assert [(r.kind, r.at) for r in first.rows] == [("report", 50.0), ("span", 0.0)]
    assert first.rows[0].item["error"] == "ERP-422"
    assert [(r.kind, r.at) for r in second.rows] == [("report", 100.0), ("span", 0.0)]


def test_a_report_of_a_trace_outside_its_spans_is_pinned_to_the_edge():
    (block,) = waterfall.blocks([span("a", start=0, end=10)], [report(15, trace_id="t1")])
    assert block.rows[0].at == 100.0 and block.rows[0].offset == "+15 ms"


def test_a_trace_continued_from_an_earlier_page_does_not_repeat_its_reports():
    spans = [span("c", "b", 5, 6)]
    (block,) = waterfall.blocks(
        spans, [report(5.5, trace_id="t1")], {("t1", "b"): (0, "b")}, first_page=False
    )
    assert block.continued and [r.kind for r in block.rows] == ["span"]


def test_a_continued_trace_keeps_the_scale_of_its_first_part():
    # The root (0 to 100 ms) was drawn on the page before; its last child is here.
    (block,) = waterfall.blocks(
        [span("k", "root", 80, 90)],
        [],
        {("t1", "root"): (0, "root")},
        first_page=False,
        bounds={"t1": (ms(0), ms(100))},
    )
    (row,) = block.rows
    assert (row.at, row.width, row.offset) == (80.0, 10.0, "+80 ms")
    assert block.start == ms(0) and block.duration == "100 ms"


def test_reports_alone_make_a_time_line():
    (block,) = waterfall.blocks([], [report(0), report(7_200_000, "failed")])
    assert block.trace_id == "" and [r.at for r in block.rows] == [0.0, 100.0]
    assert block.ticks[-1].label == "2 h"
    assert waterfall.blocks([], [report(0)], first_page=False) == []
    assert waterfall.blocks([], []) == []


@pytest.mark.parametrize(
    ("seconds", "labels"),
    [
        (0.010, ["0", "2 ms", "4 ms", "6 ms", "8 ms", "10 ms"]),
        (2.5, ["0", "500 ms", "1 s", "1.5 s", "2 s", "2.5 s"]),
        (61, ["0", "10 s", "20 s", "30 s", "40 s", "50 s", "1 min"]),
        (1800, ["0", "5 min", "10 min", "15 min", "20 min", "25 min", "30 min"]),
        (0.0003, ["0", "50 µs", "100 µs", "150 µs", "200 µs", "250 µs", "300 µs"]),
    ],
)
def test_ticks_are_round_and_in_the_unit_that_fits(seconds, labels):
    ticks = waterfall.ticks(seconds)
    assert [t.label for t in ticks] == labels
    assert ticks[0].at == 0 and all(0 <= t.at <= 100 for t in ticks)
    assert ticks[0].anchor == "start"


def test_a_zero_extent_has_one_tick():
    assert [(t.at, t.label) for t in waterfall.ticks(0)] == [(0.0, "0")]


def test_percentages_are_dot_decimal_without_float_noise():
    assert waterfall.percent(100 / 3) == "33.333%"
    assert waterfall.percent(50.0) == "50%" and waterfall.percent(0) == "0%"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0125, "12.5 ms"), (1.25, "1.25 s"), (90, "1.5 min"), (7200, "2 h"), (0, "0")],
)
def test_durations_read_in_the_largest_unit(seconds, text):
    assert waterfall.human_duration(seconds) == text
