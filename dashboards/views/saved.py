"""Saved views: a user names the page and filters they are looking at, to come back to."""

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit import log as audit
from c2c_ops.access import needs

from ..models import SavedView
from ..models.saved_views import PAGES

# Parameters that belong to one moment, not to the view: never saved.
TRANSIENT = ("cursor", "part", "format")


@require_POST
@needs("read")
def save_view(request):
    path = request.POST.get("path", "")
    name = request.POST.get("name", "").strip()[:80]
    if path not in PAGES:
        messages.error(request, "Only the overview, transactions and flows pages can be saved.")
        return HttpResponseRedirect("/")
    query = request.POST.get("query", "")
    kept = [(k, v) for k, v in _pairs(query) if k not in TRANSIENT]
    url = f"{path}?{urlencode(kept)}" if kept else path
    if not name:
        messages.error(request, "Give the view a name.")
        return HttpResponseRedirect(url)
    if len(urlencode(kept)) > SavedView._meta.get_field("query").max_length:
        messages.error(request, "These filters are too long to save as a view.")
        return HttpResponseRedirect(url)
    try:
        with transaction.atomic():  # a clash rolls back this insert only
            view = SavedView.objects.create(
                user=request.user, name=name, path=path, query=urlencode(kept)
            )
            audit.record(audit.person(request.user), "create", view, after=_state(view))
    except IntegrityError:
        messages.error(request, f"You already have a view named {name!r}: pick another name.")
    else:
        messages.success(request, f"Saved as {name!r}.")
    return HttpResponseRedirect(url)


@require_POST
@needs("read")
def delete_view(request, pk: int):
    # Only one's own: someone else's view is "not found", not "forbidden".
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    with transaction.atomic():
        audit.record(audit.person(request.user), "delete", view, before=_state(view))
        view.delete()
    messages.success(request, f"Deleted the view {view.name!r}.")
    back = request.POST.get("back", "")
    local = url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
    return HttpResponseRedirect(back if local and back.startswith("/") else "/")


def _state(view: SavedView) -> dict:
    return {"name": view.name, "path": view.path, "query": view.query}


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=False)[:50]
