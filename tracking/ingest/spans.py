"""Store decoded spans and turn the ones that report a stage into ledger events.

A span names its transaction with ``c2c.correlation_id``; a span without it belongs to the
transaction of any other span of its trace, whether that span is in this export or was
stored earlier. Children usually end, and so are exported, before the root that carries the
attribute: such orphans are stored as they are and adopted when their trace's correlation
arrives, and an adopted span that reports a stage becomes an event then.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from .. import ledger
from ..batch_sql import insert, pg_query, register_staging, upsert
from ..models import Flow, Span
from ..projection import IncomingEvent
from ..timefmt import from_unix_nanos
from .events import MAX_CLOCK_SKEW, Invalid, default_system
from .otlp import SpanRecord
from .span_events import attr, label_problem, span_event

MAX_MESSAGES = 20

_SPAN_COLUMNS = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "service_name",
    "start_time",
    "end_time",
    "status_code",
    "status_message",
    "flow",
    "correlation_id",
    "journey",
    "stage",
    "attributes",
    "received_at",
]


register_staging(Span, _SPAN_COLUMNS)


@dataclass
class SpanResult:
    # ``accepted`` counts spans stored now or before (a resend is accepted again, as OTLP
    # asks); ``duplicates``, the part of them that was stored already or repeated within
    # the export. Only the metrics tell the two apart: the API answers rejections only.
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    messages: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.rejected += 1
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)


def _lock_traces(trace_ids: list[str]) -> None:
    """Serialise exports that share a trace, so a child stored as an orphan by one is seen
    (and adopted) by the other that names the transaction. Keys in one order: no deadlock.
    SQLite needs nothing: its writers already take turns."""
    if connection.vendor == "postgresql" and trace_ids:
        pg_query(
            "SELECT pg_advisory_xact_lock(hashtextextended(t, 0)) "
            "FROM unnest(%s::text[]) AS t ORDER BY t",
            [sorted(trace_ids)],
        )


def _correlations(records: list[SpanRecord]) -> dict[str, str]:
    """trace_id -> correlation ID: from this export's earliest span naming one, else from
    the earliest stored span of the trace naming one."""
    by_trace: dict[str, tuple[int, str, str]] = {}
    for record in records:
        cid = attr(record.attributes, "correlation_id")
        if cid:
            candidate = (record.start_nanos, record.span_id, cid)
            held = by_trace.get(record.trace_id)
            if held is None or candidate < held:
                by_trace[record.trace_id] = candidate
    found = {trace_id: held[2] for trace_id, held in by_trace.items()}
    unknown = list({r.trace_id for r in records} - found.keys())
    if unknown:
        if connection.vendor == "postgresql":
            stored = pg_query(
                "SELECT DISTINCT ON (trace_id) trace_id, correlation_id FROM tracking_span "
                "WHERE trace_id = ANY(%s) AND correlation_id <> '' "
                "ORDER BY trace_id, start_time, span_id",
                [unknown],
            )
        else:
            stored = (
                Span.objects.filter(trace_id__in=unknown)
                .exclude(correlation_id="")
                .order_by("trace_id", "-start_time", "-span_id")
                .values_list("trace_id", "correlation_id")
            )
            stored = dict(stored).items()  # the last of each trace wins: the earliest
        for trace_id, cid in stored:
            found.setdefault(trace_id, cid)
    return found


Key = tuple[str, str]  # (trace_id, span_id)


def ingest(records: list[SpanRecord], flow_id: int, flow_system: str = "") -> SpanResult:
    """Validate, store and project one export. Durable on return.

    ``flow_system``: the system the flow's reports speak for unless a span says
    (``c2c.system``); ``events.default_system`` of the flow's target system.

    Written in parts of at most ``SPAN_WRITE_TRACES`` traces, each its own database
    transaction: each trace takes a lock slot until its part commits, and PostgreSQL's lock
    table is small (max_locks_per_transaction x max_connections, 6,400 by default), so an
    export of 14,000 traces in one transaction failed every time it was sent. A part that
    fails leaves the parts before it stored; the client's retry finds those spans stored
    and their events recorded, and counts them once.
    """
    result = SpanResult()
    received_at = timezone.now()
    unique, reported = _validate(records, flow_id, flow_system, received_at, result)
    for part in _parts(unique, settings.SPAN_WRITE_TRACES):
        outcomes, own_count, stored = ledger.run_atomic(
            lambda part=part: _write(part, reported, flow_id, received_at)
        )
        result.duplicates += len(part) - stored
        # Only this export's spans count as its rejections; an adopted orphan came earlier.
        for outcome in outcomes[:own_count]:
            if outcome.kind == ledger.ERROR:
                result.reject(outcome.detail)
    result.accepted = len(records) - result.rejected
    return result


def _validate(
    records: list[SpanRecord],
    flow_id: int,
    flow_system: str,
    received_at: datetime,
    result: SpanResult,
) -> tuple[dict[Key, SpanRecord], dict[Key, IncomingEvent]]:
    """The export's valid spans, once each, and the events of those that report a stage;
    each refused span counted in ``result`` with its reason."""
    latest_end = int((received_at + MAX_CLOCK_SKEW).timestamp() * 1e9)
    unique: dict[Key, SpanRecord] = {}
    reported: dict[Key, IncomingEvent] = {}
    for record in records:
        problem = record.problem(latest_end)
        if not problem and (problem := label_problem(record.attributes)):
            problem = f"span {record.span_id}: {problem}"
        if problem:
            result.reject(problem)
            continue
        key = (record.trace_id, record.span_id)
        if key in unique:
            result.duplicates += 1
            continue
        attrs = record.attributes
        if "c2c.stage" in attrs and attr(attrs, "stage"):
            # Validated before its transaction is known, so that an orphan adopted later
            # is known to make a valid event.
            try:
                reported[key] = span_event(
                    trace_id=record.trace_id,
                    span_id=record.span_id,
                    correlation_id="",
                    end_time=from_unix_nanos(record.end_nanos),
                    status_code=record.status_code,
                    status_message=record.status_message,
                    attributes=attrs,
                    name=record.name,
                    flow_id=flow_id,
                    flow_system=flow_system,
                )
            except Invalid as exc:
                result.reject(f"span {record.span_id}: {exc}")
                continue
        unique[key] = record
    return unique, reported


def _parts(unique: dict[Key, SpanRecord], traces: int) -> list[dict[Key, SpanRecord]]:
    """The spans in parts of at most ``traces`` whole traces (a trace is never split: its
    spans find their correlation ID among each other)."""
    by_trace: dict[str, dict[Key, SpanRecord]] = {}
    for key, record in unique.items():
        by_trace.setdefault(key[0], {})[key] = record
    groups = list(by_trace.values())
    parts = []
    for start in range(0, len(groups), traces):
        part: dict[Key, SpanRecord] = {}
        for group in groups[start : start + traces]:
            part.update(group)
        parts.append(part)
    return parts


def _write(
    part: dict[Key, SpanRecord],
    reported: dict[Key, IncomingEvent],
    flow_id: int,
    received_at: datetime,
) -> tuple[list[ledger.Outcome], int, int]:
    """Store one part's spans and record the events they and adopted orphans report.

    Returns the ledger's outcomes, this export's own events first, how many are its own,
    and how many of the part's spans were new.
    """
    _lock_traces(list({trace_id for trace_id, _ in part}))
    by_trace = _correlations(list(part.values()))
    rows, events = [], {}
    for key, record in part.items():
        cid = attr(record.attributes, "correlation_id") or by_trace.get(record.trace_id, "")
        event = reported.get(key)
        if event is not None and cid:
            event.correlation_id = cid
            events[key] = event
        rows.append(_span_row(record, event, cid, flow_id, received_at))
    inserted = _store(rows)
    own = [events[key] for key in map(tuple, inserted) if key in events]
    todo = own + _adopt_orphans(by_trace, flow_id)
    if not todo:
        return [], 0, len(inserted)
    outcomes = ledger.record(todo, received_at=received_at, known_new=True).outcomes
    return outcomes, len(own), len(inserted)


def _span_row(
    record: SpanRecord,
    event: IncomingEvent | None,
    cid: str,
    flow_id: int,
    received_at: datetime,
) -> tuple:
    return (
        record.trace_id,
        record.span_id,
        record.parent_span_id,
        record.name,
        record.kind,
        record.service_name,
        from_unix_nanos(record.start_nanos),
        from_unix_nanos(record.end_nanos),
        record.status_code,
        record.status_message,
        flow_id,
        cid,
        "" if event is None else event.journey,
        "" if event is None else event.stage,
        record.attributes,
        received_at,
    )


def _store(rows: list[tuple]) -> list[tuple]:
    """Insert span rows; the (trace_id, span_id) of those that were new."""
    try:
        # Fast path: an export is almost always new. A resent one (an exporter's retry)
        # fails on the unique (trace_id, span_id, start_time) and is written again below,
        # skipping the spans already stored.
        with transaction.atomic():
            insert(Span, _SPAN_COLUMNS, rows)
        return [(row[0], row[1]) for row in rows]
    except IntegrityError:
        return upsert(
            Span,
            _SPAN_COLUMNS,
            rows,
            conflict=["trace_id", "span_id", "start_time"],
            returning=["trace_id", "span_id"],
        )


def _adopt_orphans(by_trace: dict[str, str], flow_id: int) -> list[IncomingEvent]:
    """Give stored spans of these traces their correlation ID; return the events they report."""
    if not by_trace:
        return []
    columns = [
        "id",
        "trace_id",
        "span_id",
        "name",
        "end_time",
        "status_code",
        "status_message",
        "stage",
        "attributes",
        "flow_id",
    ]
    if connection.vendor == "postgresql":
        orphans = pg_query(
            f"SELECT {', '.join(columns)} FROM tracking_span "  # noqa: S608
            "WHERE trace_id = ANY(%s) AND correlation_id = ''",
            [list(by_trace)],
        )
    else:
        orphans = list(
            Span.objects.filter(trace_id__in=list(by_trace), correlation_id="").values_list(
                *columns
            )
        )
    if not orphans:
        return []
    Span.objects.filter(id__in=[o[0] for o in orphans]).update(
        correlation_id=Case(
            *(When(trace_id=t, then=Value(by_trace[t])) for t in {o[1] for o in orphans}),
            default=Value(""),
        )
    )
    # Each orphan speaks for its own flow's target system unless it says otherwise.
    systems = {
        flow: default_system(target)
        for flow, target in Flow.objects.filter(id__in={o[9] for o in orphans if o[9]}).values_list(
            "id", "target_system"
        )
    }
    events = []
    for _, trace_id, span_id, name, end_time, status_code, message, stage, attrs, flow in orphans:
        if not stage:
            continue
        try:
            events.append(
                span_event(
                    trace_id=trace_id,
                    span_id=span_id,
                    correlation_id=by_trace[trace_id],
                    end_time=end_time,
                    status_code=status_code,
                    status_message=message,
                    attributes=attrs,
                    name=name,
                    flow_id=flow or flow_id,
                    flow_system=systems.get(flow or flow_id, ""),
                )
            )
        except Invalid:  # pragma: no cover - validated on arrival, see ingest()
            continue
    return events
