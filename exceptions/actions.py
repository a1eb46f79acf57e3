"""What people (and keys with the operate scope) do to a case. Every change is audited.

Each action locks the case row, checks the case can take it, writes the change and its
audit entry in one database transaction, and returns the case as it now stands. Repeating
an action that is already in effect (acknowledging an acknowledged case) changes nothing
and writes nothing.
"""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit import log as audit
from tracking.roles import user_scopes

from . import alerts
from .actors import SYSTEM, Actor
from .inputs import Conflict, Invalid, text
from .models import LIVE_STATUSES, CaseStatus, ExceptionCase, Note

MAX_SNOOZE = timedelta(days=90)


def _locked(case_id: int) -> ExceptionCase:
    return (
        ExceptionCase.objects.select_for_update(of=("self",))
        .select_related("owner")
        .get(pk=case_id)
    )


def _live(case: ExceptionCase, verb: str) -> None:
    if case.status not in LIVE_STATUSES:
        raise Conflict(f"Case {case.pk} is {case.status}: it cannot be {verb}.")


def _owner_name(case: ExceptionCase) -> str | None:
    return case.owner.get_username() if case.owner_id else None


def assign(
    actor: Actor, case_id: int, *, owner: str | None = None, team: str | None = None
) -> ExceptionCase:
    """Give the case to a person (by username; "" takes it away) and/or a team."""
    actor.require("operate")
    if owner is None and team is None:
        raise Invalid('Give "owner" (a username) or "team".')
    with transaction.atomic():
        case = _locked(case_id)
        _live(case, "assigned")
        before = {"owner": _owner_name(case), "team": case.team}
        if owner is not None:
            case.owner = _user(owner) if owner else None
        if team is not None:
            case.team = text(team, "team", required=False)[:100]
        after = {"owner": _owner_name(case), "team": case.team}
        if after != before:
            case.save(update_fields=["owner", "team", "updated_at"])
            audit.record(actor, "assign", case, before=before, after=after)
        return case


def _user(username: str):
    User = get_user_model()
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise Invalid(f"No active user is called {username!r}.") from None
    if "operate" not in user_scopes(user):
        raise Invalid(f"{username} cannot own cases: they are not an operator or admin.")
    return user


def _set_status(
    actor: Actor,
    case_id: int,
    status: str,
    verb: str,
    *,
    allowed: tuple,
    reason: str = "",
    until: datetime | None = None,
) -> ExceptionCase:
    actor.require("operate")
    with transaction.atomic():
        case = _locked(case_id)
        if case.status == status and status != CaseStatus.SNOOZED:
            return case
        if case.status not in allowed:
            raise Conflict(f"Case {case.pk} is {case.status}: it cannot be {verb}.")
        before = {"status": case.status, "snoozed_until": case.snoozed_until}
        case.status = status
        case.snoozed_until = until
        fields = ["status", "snoozed_until", "updated_at"]
        if status == CaseStatus.RESOLVED:
            case.resolved_at, case.resolved_by, case.resolution = timezone.now(), actor.name, reason
            fields += ["resolved_at", "resolved_by", "resolution"]
        case.save(update_fields=fields)
        after = {"status": case.status, "snoozed_until": case.snoozed_until}
        audit.record(actor, verb.split()[0], case, before=before, after=after, reason=reason)
        if status == CaseStatus.RESOLVED:
            alerts.on_resolved([case])
        return case


OPENISH = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED, CaseStatus.SNOOZED)


def acknowledge(actor: Actor, case_id: int) -> ExceptionCase:
    return _set_status(actor, case_id, CaseStatus.ACKNOWLEDGED, "acknowledge", allowed=OPENISH)


def snooze(actor: Actor, case_id: int, until: datetime | None) -> ExceptionCase:
    now = timezone.now()
    if until is None:
        raise Invalid('"until" is required: an RFC 3339 time in the future.')
    if timezone.is_naive(until):
        raise Invalid('"until" needs a time zone offset.')
    if until <= now:
        raise Invalid('"until" must be in the future.')
    if until > now + MAX_SNOOZE:
        raise Invalid(f'"until" may be at most {MAX_SNOOZE.days} days ahead.')
    return _set_status(actor, case_id, CaseStatus.SNOOZED, "snooze", allowed=OPENISH, until=until)


def resolve(actor: Actor, case_id: int, reason: object) -> ExceptionCase:
    return _set_status(
        actor,
        case_id,
        CaseStatus.RESOLVED,
        "resolve",
        allowed=LIVE_STATUSES,
        reason=text(reason, "reason"),
    )


def ignore(actor: Actor, case_id: int, reason: object) -> ExceptionCase:
    return _set_status(
        actor,
        case_id,
        CaseStatus.IGNORED,
        "ignore",
        allowed=OPENISH,
        reason=text(reason, "reason"),
    )


def reopen(actor: Actor, case_id: int) -> ExceptionCase:
    """Put an ignored or snoozed case back in the queue."""
    return _set_status(
        actor,
        case_id,
        CaseStatus.OPEN,
        "reopen",
        allowed=(CaseStatus.IGNORED, CaseStatus.SNOOZED, CaseStatus.ACKNOWLEDGED),
    )


def add_note(actor: Actor, case_id: int, body: object) -> Note:
    actor.require("operate")
    written = text(body, "note")
    with transaction.atomic():
        case = _locked(case_id)
        note = Note.objects.create(
            case=case, author=actor.user, author_name=actor.name, body=written
        )
        audit.record(actor, "note", case, after={"note_id": note.pk}, reason=written)
        return note


def wake_snoozed(now: datetime | None = None) -> int:
    """Cases whose snooze has ended go back to open (every minute, from beat)."""
    now = now or timezone.now()
    woken = 0
    with transaction.atomic():
        due = list(
            ExceptionCase.objects.select_for_update(skip_locked=True).filter(
                status=CaseStatus.SNOOZED, snoozed_until__lte=now
            )[:1000]
        )
        for case in due:
            before = {"status": case.status, "snoozed_until": case.snoozed_until}
            case.status, case.snoozed_until = CaseStatus.OPEN, None
            audit_entry = audit.entry(
                SYSTEM,
                "wake",
                case,
                before=before,
                after={"status": case.status},
                reason="the snooze ended",
                at=now,
            )
            audit_entry.save()
            woken += 1
        ExceptionCase.objects.bulk_update(due, ["status", "snoozed_until"])
    return woken
