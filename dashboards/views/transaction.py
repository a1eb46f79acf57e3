"""One transaction: stage progress and SLA clock, the waterfall of its spans and reports,
amounts, attributes; and the sections other apps add (its exceptions, replays and audit
trail)."""

from datetime import datetime

import orjson
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from c2c_ops.access import htmx_partial, needs, respond
from tracking.api.spans import KINDS, STATUSES
from tracking.models import Event, Span, Stage, Transaction

from .. import extensions, keyset
from ..charts import waterfall
from ..models import RiskClock

SPANS_PAGE = 200  # spans drawn at once; "more spans" appends the next ones
MAX_EVENTS = 500
MAX_ATTRIBUTES = 100  # per span on the page; the API has them all
MAX_ANCESTRY = 32  # parent look-ups for the depth of a page's first spans
CURSOR = "spans_after"


@needs("read")
def transaction_view(request, correlation_id: str):
    txn = (
        Transaction.objects.select_related("journey", "current_stage", "flow", "state")
        .filter(correlation_id=correlation_id)
        .first()
    )
    if txn is None:
        raise Http404("No transaction has this correlation ID.")
    events = list(
        Event.objects.filter(transaction=txn)
        .select_related("stage")
        .order_by("occurred_at", "id")[:MAX_EVENTS]
    )
    cursor = request.GET.get(CURSOR, "")
    more_only = htmx_partial(request) and bool(cursor)
    trace = _trace(txn, events, cursor, more_only)
    if more_only:
        return respond(
            request, "dashboards/waterfall.html#spans-page", {"txn": txn, "trace": trace}
        )
    now = timezone.now()
    context = {
        "txn": txn,
        "stages": _progress(txn),
        "clock": _clock(txn, now),
        "sla": RiskClock.objects.filter(transaction=txn).first(),
        "events": events,
        "trace": trace,
        "panels": extensions.transaction_panels(request, txn),
        "now": now,
        "section": "transactions",
    }
    return respond(request, "dashboards/transaction.html", context)


def _trace(txn: Transaction, events: list[Event], cursor: str, more_only: bool) -> dict:
    """A page of the waterfall: the spans after ``cursor`` (by start, then id) as blocks,
    and the link to the next page while more remain."""
    spans = Span.objects.filter(correlation_id=txn.correlation_id)
    error = ""
    try:
        page = keyset.page(spans, "start_time", False, cursor, SPANS_PAGE)
    except keyset.BadCursor as exc:
        if more_only:  # appending the first spans again would repeat them: say why, only
            return {"blocks": [], "more": "", "error": str(exc)}
        error, cursor = str(exc), ""
        page = keyset.page(spans, "start_time", False, "", SPANS_PAGE)
    rows = [_span(span) for span in page.rows]
    reports = [
        {
            "at": e.occurred_at,
            "stage": e.stage.slug,
            "status": e.status,
            "error": e.error_code,
            "message": e.error_message[:200],
            "trace_id": e.trace_id or "",
        }
        for e in events
    ]
    outside, bounds = _ancestry(page.rows)
    blocks = waterfall.blocks(rows, reports, outside, first_page=not cursor, bounds=bounds)
    more = ""
    if page.next_cursor:
        # reverse() quotes what a correlation ID may hold that a URL may not ("#", "?").
        path = reverse("dashboards:transaction", args=[txn.correlation_id])
        more = f"{path}?{CURSOR}={page.next_cursor}"
    return {
        "blocks": blocks,
        "more": more,
        "after": bool(cursor),
        "error": error,
        "page_size": SPANS_PAGE,
    }


def _span(span: Span) -> dict:
    attributes = span.attributes if isinstance(span.attributes, dict) else {}
    shown = sorted(attributes.items())[:MAX_ATTRIBUTES]
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent": span.parent_span_id,
        "name": span.name,
        "service": span.service_name,
        "kind": KINDS[span.kind] if span.kind < len(KINDS) else KINDS[0],
        "status": STATUSES[span.status_code] if span.status_code < len(STATUSES) else "unset",
        "error": span.status_code == 2,
        "message": span.status_message,
        "start": span.start_time,
        "end": span.end_time,
        "attributes": [(k, _text(v)) for k, v in shown],
        "attributes_cut": max(len(attributes) - MAX_ATTRIBUTES, 0),
    }


def _text(value) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _ancestry(
    spans: list[Span],
) -> tuple[dict[tuple[str, str], tuple[int, str]], dict[str, tuple[datetime, datetime]]]:
    """For each parent named by a span of the page but not on it, when it is stored (on an
    earlier page, most often): its depth in the trace and its name; and per trace, the
    extent of those ancestors, so that a trace continued from an earlier page keeps its
    scale. One query per level, by the (trace_id, span_id) unique index; never more than
    ``MAX_ANCESTRY``."""
    on_page = {(s.trace_id, s.span_id) for s in spans}
    wanted = {(s.trace_id, s.parent_span_id) for s in spans if s.parent_span_id} - on_page
    found: dict[tuple[str, str], tuple[tuple[str, str] | None, str]] = {}
    bounds: dict[str, tuple[datetime, datetime]] = {}
    frontier = wanted
    for _ in range(MAX_ANCESTRY):
        if not frontier:
            break
        match = Q()
        for trace_id, span_id in frontier:
            match |= Q(trace_id=trace_id, span_id=span_id)
        rows = Span.objects.filter(match).values_list(
            "trace_id", "span_id", "parent_span_id", "name", "start_time", "end_time"
        )
        for trace_id, span_id, parent, name, start, end in rows:
            found[(trace_id, span_id)] = ((trace_id, parent) if parent else None, name)
            first, last = bounds.get(trace_id, (start, end))
            bounds[trace_id] = (min(first, start), max(last, end, start))
        frontier = {
            parent for parent, _ in (found[k] for k in frontier if k in found)
            if parent and parent not in found
        }  # fmt: skip

    def depth(key: tuple[str, str]) -> int:
        steps, seen = 0, {key}
        parent = found[key][0]
        while parent in found and parent not in seen and steps < MAX_ANCESTRY:
            seen.add(parent)
            steps += 1
            parent = found[parent][0]
        return steps

    return {key: (depth(key), found[key][1]) for key in wanted if key in found}, bounds


def _progress(txn: Transaction) -> list[dict]:
    """Each stage of the journey: done, current (with its status), next (overdue when the
    transaction is stuck) or still ahead; with when it was reached."""
    stages = list(Stage.objects.filter(journey=txn.journey_id).order_by("position"))
    current = txn.current_stage.position if txn.current_stage else -1
    times = txn.stage_times if isinstance(txn.stage_times, dict) else {}
    out = []
    for stage in stages:
        if stage.position < current or (stage.position == current and txn.status == "completed"):
            state = "done"
        elif stage.position == current:
            state = txn.stage_status or "started"
        elif not any(s["state"] in ("next", "overdue") for s in out):
            state = "overdue" if txn.status == "stuck" else "next"
        else:
            state = "ahead"
        reached = times.get(stage.slug)
        out.append(
            {"slug": stage.slug, "state": state, "at": parse_datetime(reached) if reached else None}
        )
    return out


def _clock(txn: Transaction, now) -> dict | None:
    """The next stage's deadline, and how long is left (or how long it is overdue)."""
    if txn.next_deadline_at is None:
        return None
    left = txn.next_deadline_at - now
    return {
        "deadline": txn.next_deadline_at,
        "overdue": left.total_seconds() < 0,
        "left": abs(left),
    }
