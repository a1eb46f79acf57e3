"""Notification history: what was sent, to whom, when, and how it went."""

from django.core.paginator import Paginator

from c2c_ops.access import htmx_partial, needs, query_without, respond

from ..models import Alert, AlertKind, Channel

OUTCOMES = {
    "pending": "Waiting to send",
    "sent": "Sent",
    "failed": "Failed",
    "silenced": "Silenced",
    "skipped": "Skipped",
}


@needs("read")
def notifications_view(request):
    alerts = Alert.objects.select_related("channel", "case").order_by("-created_at", "-id")
    params = request.GET
    if params.get("team"):
        alerts = alerts.filter(channel__team=params["team"])
    if params.get("kind") in AlertKind.values:
        alerts = alerts.filter(kind=params["kind"])
    outcome = params.get("outcome", "")
    if outcome == "pending":
        alerts = alerts.filter(processed_at__isnull=True)
    elif outcome in OUTCOMES:
        alerts = alerts.filter(outcome=outcome)
    if params.get("channel", "").isdigit():
        alerts = alerts.filter(channel_id=int(params["channel"]))
    if params.get("q"):
        alerts = alerts.filter(subject__icontains=params["q"].strip()[:100])
    page = Paginator(alerts.prefetch_related("attempts_made"), 50).get_page(params.get("page"))
    context = {
        "page": page,
        "query": query_without(request, "page"),
        "teams": sorted(set(Channel.objects.values_list("team", flat=True))),
        "channels": Channel.objects.order_by("team", "kind"),
        "kinds": AlertKind.choices,
        "outcomes": OUTCOMES,
        "section": "notifications",
    }
    template = "exceptions/notifications.html" + ("#history" if htmx_partial(request) else "")
    return respond(request, template, context)
