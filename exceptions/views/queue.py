"""The queue page: one view for the page and its fragments (table, counters)."""

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone

from c2c_ops.access import htmx_partial, needs, query_without, respond
from tracking.models import Flow, Stage
from tracking.roles import user_scopes

from .. import queue, replay
from ..filtersets import CaseFilterSet
from ..models import CaseStatus, ExceptionCase, Replay, ReplayStatus

PAGE_SIZE = 50
SNOOZES = {"1h": 1, "4h": 4, "1d": 24, "3d": 72, "7d": 168}


def cases_page(request, counts: dict[str, int]) -> dict:
    """The filtered, ranked page of cases the URL asks for, and what the page shows beside.

    The ranking reads ids only (narrow rows, index-friendly); the 50 rows shown are then
    loaded with what they display. The unfiltered queue's total is the "open" counter,
    already counted, so the default page does not count the same rows twice.
    """
    filters = CaseFilterSet(request.GET, queryset=ExceptionCase.objects.all(), request=request)
    rows = filters.qs if filters.is_valid() else ExceptionCase.objects.none()
    default = queue.default_statuses(request.GET)
    if default:
        rows = queue.active(rows)
    sort = request.GET.get("sort", "rank")
    sort = sort if sort in queue.SORTS else "rank"
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
