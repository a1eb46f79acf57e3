"""What operators do from the pages: one POST per action, answered with the updated row
for htmx, or a redirect back (with a message) for a plain form post."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEntry
from c2c_ops.access import htmx_partial, needs, respond
from tracking.roles import user_scopes

from .. import actions, bulk_actions, replay
from ..actors import Actor, NotAllowed
from ..inputs import Conflict, Invalid
from ..models import ExceptionCase, Replay
from .queue import SNOOZES, choices, counters

ACTIONS = ("assign", "acknowledge", "snooze", "resolve", "ignore", "reopen", "note", "replay")


def _until(form) -> object:
    hours = SNOOZES.get(form.get("for", ""))
    if hours is None:
        raise Invalid(f"Snooze for one of: {', '.join(SNOOZES)}.")
    return timezone.now() + timedelta(hours=hours)


def _perform(actor: Actor, case_id: int, action: str, form) -> str:
    if action == "assign":
        owner = form.get("owner")
        owner = actor.name if owner == "me" else owner
        team = form.get("team") or None
        case = actions.assign(actor, case_id, owner=owner, team=team)
        who = case.owner.get_username() if case.owner_id else "nobody"
        return f"Case {case_id} is now owned by {who} (team {case.team or 'none'})."
    if action == "acknowledge":
        actions.acknowledge(actor, case_id)
        return f"Case {case_id} acknowledged."
    if action == "snooze":
        case = actions.snooze(actor, case_id, _until(form))
        return (
            f"Case {case_id} snoozed until {timezone.localtime(case.snoozed_until):%Y-%m-%d %H:%M}."
        )
    if action == "resolve":
        actions.resolve(actor, case_id, form.get("reason"))
        return f"Case {case_id} resolved."
    if action == "ignore":
        actions.ignore(actor, case_id, form.get("reason"))
        return f"Case {case_id} ignored."
    if action == "reopen":
        actions.reopen(actor, case_id)
        return f"Case {case_id} reopened."
    if action == "note":
        actions.add_note(actor, case_id, form.get("body"))
        return f"Note added to case {case_id}."
    made = replay.request(actor, case_id, form.get("reason"))
    if made.status == "awaiting_approval":
        return f"Replay of case {case_id} requested: it needs a second operator's approval."
    return f"Replay of case {case_id} requested."


def _safe_next(request, target: str, fallback: str = "/exceptions/") -> str:
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target or fallback
    return fallback


def _back(request, fallback: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        _safe_next(request, request.POST.get("next", ""), fallback), status=303
    )


@require_POST
@needs("operate")
def act(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404("No such action.")
    error = message = ""
    try:
        message = _perform(Actor.of(request.user), pk, action, request.POST)
    except (Invalid, Conflict, NotAllowed) as exc:
        error = str(exc)
    except ExceptionCase.DoesNotExist:
        raise Http404("No such case.") from None
    if htmx_partial(request):
        case = get_object_or_404(
            ExceptionCase.objects.select_related("stage", "flow", "owner").prefetch_related(
                replay.PENDING
            ),
            pk=pk,
        )
        context = {
            "case": case,
            "row_error": error,
            "row_message": message,
            "counts": counters(request),
            "can_operate": True,
            "here": request.POST.get("next", ""),
            "oob": True,
        }
        return render(request, "exceptions/queue.html#case-row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return _back(request, f"/exceptions/{pk}/")


@require_GET
@needs("operate")
def menu(request, pk: int):
    """A row's "More" forms, fetched when the operator opens them; the case page without htmx."""
    if not htmx_partial(request):
        return HttpResponseRedirect(f"/exceptions/{pk}/")
    case = get_object_or_404(ExceptionCase.objects.select_related("owner"), pk=pk)
    context = {"case": case, "here": _safe_next(request, request.GET.get("next", "")), **choices()}
    return respond(request, "exceptions/queue.html#case-menu", context)


@require_POST
@needs("operate")
def bulk_view(request):
    form = request.POST
    action = form.get("action", "")
    try:
        ids = [int(x) for x in form.getlist("ids")]
    except ValueError:
        ids = []
    if action == "replay" and not form.get("confirm"):
        verdicts = replay.preview(ids)
        context = {
            "verdicts": verdicts,
            "reason": form.get("reason", ""),
            "next": form.get("next", "/exceptions/"),
            "ready": [v for v in verdicts if v.allowed],
            "rate": settings.REPLAY_RATE_PER_MINUTE,
            "section": "exceptions",
        }
        return render(request, "exceptions/bulk_preview.html", context)
    params = {
        "owner": form.get("owner") or None,
        "team": form.get("team") or None,
        "reason": form.get("reason"),
    }
    if action == "assign" and params["owner"] == "me":
        params["owner"] = request.user.get_username()
    try:
        if action == "snooze":
            params["until"] = _until(form)
        outcomes = bulk_actions.run(Actor.of(request.user), action, ids, **params)
    except Invalid as exc:
        messages.error(request, str(exc))
        return _back(request, "/exceptions/")
    done = [o for o in outcomes if o.ok]
    messages.success(request, f"{action.title()}: {len(done)} of {len(outcomes)} cases done.")
    for refused in [o for o in outcomes if not o.ok][:20]:
        messages.error(request, f"Case {refused.case_id}: {refused.detail}")
    return _back(request, "/exceptions/")


@require_POST
@needs("operate")
def decide(request, replay_id, decision: str):
    actor = Actor.of(request.user)
    try:
        if decision == "approve":
            made = replay.approve(actor, replay_id)
            messages.success(
                request, f"Replay approved: it is {made.get_status_display().lower()}."
            )
        else:
            replay.reject(actor, replay_id, request.POST.get("reason"))
            messages.success(request, "Replay rejected.")
    except (Invalid, Conflict, NotAllowed) as exc:
        messages.error(request, str(exc))
    except Replay.DoesNotExist:
        raise Http404("No such replay.") from None
    return _back(request, "/exceptions/")


@require_GET
@needs("read")
def case_view(request, pk: int):
    case = get_object_or_404(
        ExceptionCase.objects.select_related(
            "stage", "flow", "owner", "journey", "transaction__state", "contract_break__contract"
        ),
        pk=pk,
    )
    context = {
        "case": case,
        "notes": case.notes.all(),
        "replays": case.replays.select_related("stage").order_by("-requested_at"),
        "history": Replay.objects.filter(transaction_id=case.transaction_id)
        .exclude(case=case)
        .select_related("stage")
        .order_by("-requested_at"),
        "entries": AuditEntry.objects.filter(case_id=case.pk).order_by("at", "id"),
        "verdict": replay.judge(case),
        "can_operate": "operate" in user_scopes(request.user),
        "me": request.user.get_username(),
        "here": request.get_full_path(),
        "section": "exceptions",
        **choices(),
    }
    return render(request, "exceptions/case.html", context)
