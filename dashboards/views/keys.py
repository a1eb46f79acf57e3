"""A flow's API keys, for admins (the configure scope): the list, and create, rotate and
revoke. A new key is in the answer to the POST that made it and nowhere else: it is not
put in the session or a message (both are stored), and that answer is never cached."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from audit import log as audit
from c2c_ops.access import needs, respond
from tracking import key_lifecycle
from tracking.key_lifecycle import KeyRefused
from tracking.models import Flow, FlowAPIKey

from ..key_forms import CreateKeyForm, RevokeKeyForm, RotateKeyForm


def _rows(flow: Flow) -> list[dict]:
    now = timezone.now()
    keys = FlowAPIKey.objects.filter(flow=flow).order_by("-created")
    return [{"key": k, "state": key_lifecycle.state(k, now)} for k in keys]


def _page(request, flow: Flow, form, issued=None, status: int = 200):
    context = {
        "flow": flow,
        "rows": _rows(flow),
        "form": form,
        "issued": issued,
        "overlap_hours": settings.API_KEY_ROTATION_OVERLAP_HOURS,
        "section": "flows",
    }
    response = respond(request, "dashboards/flow_keys.html", context)
    response.status_code = status
    if issued is not None:
        add_never_cache_headers(response)  # the one page holding the key: not kept anywhere
    return response


def _keys_url(flow: Flow) -> str:
    return reverse("dashboards:flow-keys", args=[flow.slug])


@require_http_methods(["GET", "POST"])
@needs("configure")
def keys_view(request, slug: str):
    flow = get_object_or_404(Flow, slug=slug)
    if request.method == "GET":
        return _page(request, flow, CreateKeyForm(initial={"scopes": ["ingest"]}))
    form = CreateKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            issued = key_lifecycle.create(
                audit.person(request.user), flow, data["name"], data["scopes"], data["expires"]
            )
        except KeyRefused as exc:
            form.add_error(None, str(exc))
        else:
            return _page(request, flow, CreateKeyForm(initial={"scopes": ["ingest"]}), issued)
    return _page(request, flow, form, status=400)


def _key(flow: Flow, prefix: str) -> FlowAPIKey:
    return get_object_or_404(FlowAPIKey, flow=flow, prefix=prefix)


def _action_page(request, flow, api_key, action: str, form, status: int = 200):
    context = {
        "flow": flow,
        "api_key": api_key,
        "state": key_lifecycle.state(api_key),
        "action": action,
        "form": form,
        "section": "flows",
    }
    response = respond(request, "dashboards/flow_key_action.html", context)
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@needs("configure")
def rotate_view(request, slug: str, prefix: str):
    flow = get_object_or_404(Flow, slug=slug)
    api_key = _key(flow, prefix)
    if request.method == "GET":
        return _action_page(request, flow, api_key, "rotate", RotateKeyForm())
    form = RotateKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            issued = key_lifecycle.rotate(
                audit.person(request.user), flow, prefix,
                timedelta(hours=data["overlap_hours"]), data["expires"],
            )  # fmt: skip
        except KeyRefused as exc:
            form.add_error(None, str(exc))
        except FlowAPIKey.DoesNotExist as exc:
            raise Http404(str(exc)) from exc
        else:
            return _page(request, flow, CreateKeyForm(initial={"scopes": ["ingest"]}), issued)
    return _action_page(request, flow, api_key, "rotate", form, status=400)


@require_http_methods(["GET", "POST"])
@needs("configure")
def revoke_view(request, slug: str, prefix: str):
    flow = get_object_or_404(Flow, slug=slug)
    api_key = _key(flow, prefix)
    if request.method == "GET":
        return _action_page(request, flow, api_key, "revoke", RevokeKeyForm())
    form = RevokeKeyForm(request.POST)
    if form.is_valid():
        try:
            key_lifecycle.revoke(audit.person(request.user), flow, prefix)
        except KeyRefused as exc:
            form.add_error(None, str(exc))
        except FlowAPIKey.DoesNotExist as exc:
            raise Http404(str(exc)) from exc
        else:
            messages.success(request, f"Key {prefix} ({api_key.name}) is revoked.")
            return HttpResponseRedirect(_keys_url(flow), status=303)
    return _action_page(request, flow, api_key, "revoke", form, status=400)
