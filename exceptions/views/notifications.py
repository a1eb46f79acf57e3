"""Notification history: what was sent, to whom, when, and how it went; and its CSV."""

from collections.abc import Iterable, Iterator

from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond

from ..models import Alert, AlertKind, Channel, Notification

OUTCOMES = {
    "pending": "Waiting to send",
    "sent": "Sent",
    "failed": "Failed",
    "silenced": "Silenced",
    "skipped": "Skipped",
}
CSV_COLUMNS = (
    "id", "created_at", "kind", "subject", "case_id", "case__correlation_id", "rule__name",
    "channel__team", "channel_id", "channel__kind", "processed_at", "outcome", "attempts",
    "last_attempt_at", "last_attempt_detail",
)  # fmt: skip
CSV_HEADER = (
    "alert_id", "created_at", "kind", "subject", "case_id", "correlation_id", "rule", "team",
    "channel_id", "channel_kind", "channel_target", "processed_at", "outcome", "attempts",
    "last_attempt_at", "last_attempt_detail",
)  # fmt: skip


def filtered(params) -> tuple[QuerySet, dict[str, list[str]]]:
    """The alerts the URL's filters leave, newest first, and what is wrong with the filters.

    A value no menu offers (a hand-edited URL) is an error, not a filter dropped: the page
    would otherwise show, and the CSV export, every alert as if it matched.
    """
    alerts = Alert.objects.order_by("-created_at", "-id")
    errors: dict[str, list[str]] = {}
    if params.get("team"):
        alerts = alerts.filter(channel__team=params["team"])
    kind = params.get("kind", "")
    if kind in AlertKind.values:
        alerts = alerts.filter(kind=kind)
    elif kind:
        errors["kind"] = [f"{kind!r} is not one of {', '.join(AlertKind.values)}."]
    outcome = params.get("outcome", "")
    if outcome == "pending":
        alerts = alerts.filter(processed_at__isnull=True)
    elif outcome in OUTCOMES:
        alerts = alerts.filter(outcome=outcome)
    elif outcome:
        errors["outcome"] = [f"{outcome!r} is not one of {', '.join(OUTCOMES)}."]
    channel = params.get("channel", "")
    if channel.isdigit():
        alerts = alerts.filter(channel_id=int(channel))
    elif channel:
        errors["channel"] = [f"{channel!r} is not a channel id."]
    if params.get("q"):
        alerts = alerts.filter(subject__icontains=params["q"].strip()[:100])
    return (alerts.none() if errors else alerts), errors


@needs("read")
def notifications_view(request):
    alerts, errors = filtered(request.GET)
    if request.GET.get("format") == "csv":
        return csvstream.refused(errors) if errors else notifications_csv(alerts)
    alerts = alerts.select_related("channel", "case").prefetch_related("attempts_made")
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "errors": errors,
        "query": query_without(request, "page"),
        "teams": sorted(set(Channel.objects.values_list("team", flat=True))),
        "channels": Channel.objects.order_by("team", "kind"),
        "kinds": AlertKind.choices,
        "outcomes": OUTCOMES,
        "section": "notifications",
    }
    template = "exceptions/notifications.html" + ("#history" if htmx_partial(request) else "")
    return respond(request, template, context)


def notifications_csv(alerts: QuerySet):
    """Every alert the filters leave, with its last attempt, newest first."""
    last = Notification.objects.filter(alert=OuterRef("pk")).order_by("-at", "-id")
    alerts = alerts.annotate(
        last_attempt_at=Subquery(last.values("at")[:1]),
        last_attempt_detail=Subquery(last.values("detail")[:1]),
    )
    values = alerts.values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    # Where a channel sends is worked out by its transport, not stored; there are few
    # channels, so each is described once here rather than per alert.
    targets = {channel.pk: channel.target for channel in Channel.objects.all()}
    return csvstream.response("notifications", CSV_HEADER, _lines(values, targets))


def _lines(values: Iterable[tuple], targets: dict[int, str]) -> Iterator[tuple]:
    kind = CSV_COLUMNS.index("channel__kind")
    processed = CSV_COLUMNS.index("processed_at")
    for row in values:
        # As the page says it: no outcome until the sender has dealt with the alert.
        outcome = row[processed + 1] if row[processed] is not None else "waiting"
        channel = targets.get(row[kind - 1], "")
        yield (*row[: kind + 1], channel, row[processed], outcome, *row[processed + 2 :])
