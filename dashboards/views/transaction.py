"""One transaction: stage progress and SLA clock, timeline of spans and reports, amounts,
attributes; and the sections other apps add (its exceptions, replays and audit trail)."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from c2c_ops.access import needs
from tracking.models import Event, Span, Stage, Transaction

from .. import extensions
from ..charts import figures as charts
from ..models import RiskClock

MAX_SPANS = 500  # a timeline longer than this is read in the API, not drawn
MAX_EVENTS = 500


@needs("read")
def transaction_view(request, correlation_id: str):
    txn = (
        Transaction.objects.select_related("journey", "current_stage", "flow", "state")
        .filter(correlation_id=correlation_id)
        .first()
    )
    if txn is None:
        raise Http404("No transaction has this correlation ID.")
    now = timezone.now()
    events = list(
        Event.objects.filter(transaction=txn)
        .select_related("stage")
        .order_by("occurred_at", "id")[:MAX_EVENTS]
    )
    spans = list(
        Span.objects.filter(correlation_id=txn.correlation_id)
        .order_by("start_time")
        .values(
            "span_id", "parent_span_id", "name", "service_name", "start_time", "end_time",
            "status_code", "status_message",
        )[: MAX_SPANS + 1]
    )  # fmt: skip
    timeline = charts.timeline(
        [
            {
                "span_id": s["span_id"],
                "parent": s["parent_span_id"],
                "name": s["name"],
                "service": s["service_name"],
                "start": s["start_time"],
                "end": s["end_time"],
                "status_code": s["status_code"],
                "message": s["status_message"][:200],
            }
            for s in spans[:MAX_SPANS]
        ],
        [
            {
                "at": e.occurred_at,
                "stage": e.stage.slug,
                "status": e.status,
                "error": e.error_code,
            }
            for e in events
        ],
    )
    context = {
        "txn": txn,
        "stages": _progress(txn),
        "clock": _clock(txn, now),
        "sla": RiskClock.objects.filter(transaction=txn).first(),
        "events": events,
        "timeline": timeline,
        "spans_cut": len(spans) > MAX_SPANS,
        "panels": extensions.transaction_panels(request, txn),
        "now": now,
        "section": "transactions",
    }
    return render(request, "dashboards/transaction.html", context)


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
