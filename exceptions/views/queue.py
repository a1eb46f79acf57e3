"""The queue page: one view for the page, its fragments (table, counters) and its CSV."""

from collections.abc import Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from c2c_ops import csvstream
from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Flow, Stage
from tracking.roles import user_scopes

from .. import queue, replay
from ..filtersets import CaseFilterSet
from ..models import CaseStatus, ExceptionCase, Replay, ReplayStatus
from ..models.replays import PENDING_REPLAYS

PAGE_SIZE = 50
SNOOZES = {"1h": 1, "4h": 4, "1d": 24, "3d": 72, "7d": 168}
CSV_COLUMNS = (
    "id", "correlation_id", "transaction_id", "kind", "status", "amount", "original_amount",
    "original_currency", "opened_at", "journey__slug", "stage__slug", "flow__slug", "team",
    "owner__username", "error_code", "error_message", "region", "business_unit",
    "occurrences", "pending_replay", "last_seen_at", "updated_at", "snoozed_until",
    "resolved_at", "resolved_by",
)  # fmt: skip
CSV_HEADER = (
    "position", "case_id", "correlation_id", "transaction_id", "kind", "status", "amount",
    "currency", "original_amount", "original_currency", "age_hours", "opened_at", "journey",
    "stage", "flow", "team", "owner", "error_code", "error_message", "region",
    "business_unit", "occurrences", "pending_replay", "last_seen_at", "updated_at",
    "snoozed_until", "resolved_at", "resolved_by",
)  # fmt: skip


def filtered(request) -> tuple[CaseFilterSet, QuerySet, bool]:
    """The URL's filters, the cases they leave, and whether the default statuses apply
    (none chosen: open and acknowledged only)."""
    filters = CaseFilterSet(request.GET, queryset=ExceptionCase.objects.all(), request=request)
    rows = filters.qs if filters.is_valid() else ExceptionCase.objects.none()
    default = queue.default_statuses(request.GET)
    if default:
        rows = queue.active(rows)
    return filters, rows, default


def sort_of(request) -> str:
    sort = request.GET.get("sort", "rank")
    return sort if sort in queue.SORTS else "rank"


def cases_page(request, counts: dict[str, int]) -> dict:
    """The filtered, ranked page of cases the URL asks for, and what the page shows beside.

    The ranking reads ids only (narrow rows, index-friendly); the 50 rows shown are then
    loaded with what they display. The unfiltered queue's total is the "open" counter,
    already counted, so the default page does not count the same rows twice.
    """
    filters, rows, default = filtered(request)
    sort = sort_of(request)
    # The paginator counts and validates the page number; page_ids fetches the page.
    paginator = Paginator(rows.values_list("id", flat=True), PAGE_SIZE)
    if default and filters.is_valid() and not _filtered(filters):
        paginator.count = counts["open"]
    page = paginator.get_page(request.GET.get("page"))
    offset = (page.number - 1) * PAGE_SIZE
    shown = queue.page_ids(rows, sort, timezone.now(), offset, PAGE_SIZE)
    loaded = ExceptionCase.objects.select_related("stage", "flow", "owner").prefetch_related(
        replay.PENDING
    )
    by_id = loaded.in_bulk(shown)
    page.object_list = [by_id[pk] for pk in shown if pk in by_id]
    return {
        "filters": filters,
        "page": page,
        "sort": sort,
        "sorts": queue.SORTS,
        "query": query_without(request, "page"),
        "here": request.get_full_path(),
    }


def _filtered(filters: CaseFilterSet) -> bool:
    return any(value not in (None, "", []) for value in filters.form.cleaned_data.values())


def counters(request) -> dict:
    counts = queue.counters(request.user.pk)
    counts["approvals"] = (
        Replay.objects.filter(status=ReplayStatus.AWAITING_APPROVAL)
        .exclude(requested_by_name=request.user.get_username())
        .count()
    )
    return counts


def choices() -> dict:
    operators = get_user_model().objects.filter(
        Q(is_superuser=True) | Q(groups__name__in=["operator", "admin"]), is_active=True
    )
    return {
        "statuses": CaseStatus.choices,
        "flows": Flow.objects.values_list("slug", flat=True),
        "stages": sorted(set(Stage.objects.values_list("slug", flat=True))),
        "operators": operators.distinct().order_by("username").values_list("username", flat=True),
        "snoozes": SNOOZES,
    }


@needs("read")
def queue_view(request):
    if request.GET.get("format") == "csv":
        return queue_csv(request)
    counts = counters(request)
    context = {
        **cases_page(request, counts),
        "counts": counts,
        "can_operate": "operate" in user_scopes(request.user),
        "section": "exceptions",
        **choices(),
    }
    template = "exceptions/queue.html"
    if htmx_partial(request):
        template += "#queue-section"
    return respond(request, template, context)


def queue_csv(request):
    """Every case the page's filters leave, in the page's order, not only its 50."""
    filters, rows, _ = filtered(request)
    if not filters.is_valid():
        return csvstream.refused(filters.errors)
    now = timezone.now()
    pending = Replay.objects.filter(case=OuterRef("pk"), status__in=PENDING_REPLAYS)
    rows = rows.annotate(pending_replay=Subquery(pending.values("status")[:1]))
    values = queue.ranked(rows, sort_of(request), now).values_list(*CSV_COLUMNS)
    lines = _lines(values.iterator(chunk_size=2000), now)
    return csvstream.response("exceptions", CSV_HEADER, lines)


def _lines(values: Iterable[tuple], now: datetime) -> Iterator[tuple]:
    """Each case with its place in the order, its amount's currency and its age added."""
    amount, opened = CSV_COLUMNS.index("amount"), CSV_COLUMNS.index("opened_at")
    for position, row in enumerate(values, 1):
        currency = settings.REPORTING_CURRENCY if row[amount] is not None else ""
        age = round(max((now - row[opened]).total_seconds(), 0) / 3600, 2)
        yield (position, *row[: amount + 1], currency, *row[amount + 1 : opened], age,
               *row[opened:])  # fmt: skip
