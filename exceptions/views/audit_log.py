"""The audit log's page: every change, filtered by who, what, which object and when; and its
CSV with the same filters. The whole log is for admins (it holds sign-ins and role
changes); a case's own trail is on the case's page for everyone who reads cases."""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit import log as audit
from audit.models import AuditEntry
from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from dashboards import keyset
from tracking.roles import user_scopes

PAGE_SIZE = 50
SUGGESTED_FROM = 5000


def filtered(params) -> tuple:
    """The entries the URL's filters leave (newest first) and what is wrong with them."""
    entries = AuditEntry.objects.all()
    errors: dict[str, list[str]] = {}
    if who := params.get("who", "").strip():
        entries = entries.filter(actor_name=who[:150])
    if action := params.get("action", "").strip():
        entries = entries.filter(action=action[:40])
    if kind := params.get("type", "").strip():
        entries = entries.filter(object_type=kind[:40])
    if object_id := params.get("object", "").strip():
        entries = entries.filter(object_id=object_id[:64])
    if (case := params.get("case", "").strip()).isdigit():
        entries = entries.filter(case_id=int(case))
    elif case:
        errors["case"] = [f"{case!r} is not a case number."]
    if correlation_id := params.get("correlation_id", "").strip():
        entries = entries.filter(correlation_id=correlation_id[:200])
    start, end = _day(params, "from", errors), _day(params, "to", errors)
    if start and end and end < start:
        errors["to"] = ["The period ends before it starts."]
    if start:
        entries = entries.filter(at__gte=_midnight(start))
    if end:
        entries = entries.filter(at__lt=_midnight(end + timedelta(days=1)))
    return (entries.none() if errors else entries), errors


def _day(params, name: str, errors: dict) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = [f"{text!r} is not a date (YYYY-MM-DD)."]
        return None


def _midnight(day: date) -> datetime:
    # The day as the people reading the log count it: the app's time zone.
    return timezone.make_aware(datetime.combine(day, time.min))


@needs("configure")
def audit_view(request):
    entries, errors = filtered(request.GET)
    if request.GET.get("format") == "csv":
        return csvstream.refused(errors) if errors else _csv(entries)
    try:
        found = keyset.page(entries, "at", True, request.GET.get("cursor", ""), PAGE_SIZE)
    except keyset.BadCursor as exc:
        errors["cursor"] = [str(exc)]
        found = keyset.Page([], None)
    context = {
        "page": found,
        "errors": errors,
        "query": query_without(request, "cursor"),
        "suggestions": _suggestions(),
        "section": "audit",
    }
    template = "exceptions/audit.html" + ("#entries" if htmx_partial(request) else "")
    return respond(request, template, context)


def _suggestions() -> dict[str, list[str]]:
    """Values to offer in the filters, from the latest entries: a DISTINCT over the whole
    log would read all of it on every visit. Any other value can still be typed."""
    rows = list(
        AuditEntry.objects.order_by("-id").values_list("actor_name", "action", "object_type")[
            :SUGGESTED_FROM
        ]
    )
    who, what, kind = ({row[n] for row in rows} for n in range(3))
    return {"who": sorted(who), "action": sorted(what), "type": sorted(kind)}


def _csv(entries):
    items = entries.order_by("at", "id").iterator(chunk_size=2000)
    return csvstream.response("audit", audit.CSV_COLUMNS, (audit.csv_row(i) for i in items))


@needs("read")
def audit_csv(request):
    """The CSV the case page links (``?case=``); readers of cases may download a case's or a
    transaction's trail, the whole log (or any other filter) is for admins."""
    entries, errors = filtered(request.GET)
    if errors:
        return csvstream.refused(errors)
    scoped = set(request.GET) <= {"case", "correlation_id"} and (
        request.GET.get("case") or request.GET.get("correlation_id")
    )
    if not scoped and "configure" not in user_scopes(request.user):
        raise PermissionDenied("The whole audit log is for admins: export a case's trail.")
    return _csv(entries)
