"""Writing the audit log: who did what to which object, with what was before and after.

Every app records its own changes here, from its admin pages, its pages, its API and its
management commands (a command's actor is the OS user who ran it: ``os:<name>``).
Secrets are never written: a secret field reads "set" or "changed", not its value.
"""

import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db.models import Model
from django.forms.models import model_to_dict
from django.utils import timezone

from .models import AuditEntry

CSV_COLUMNS = [
    "at", "actor", "action", "object_type", "object_id", "case_id", "correlation_id",
    "before", "after", "reason",
]  # fmt: skip


@dataclass(frozen=True)
class Who:
    """An actor as the log names it. Anything with ``name`` and ``user`` will do (the
    exception queue's ``Actor`` does)."""

    name: str
    user: object | None = None


SYSTEM = Who("system")


def person(user) -> Who:
    """The actor behind a request's user: a person, or a flow's API key."""
    if hasattr(user, "api_key"):
        return Who(user.username)
    return Who(user.get_username(), user if getattr(user, "pk", None) else None)


def command() -> Who:
    """The operating-system user running a management command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        name = "unknown"
    return Who(f"os:{name}")


def type_of(obj: object) -> str:
    """What the log calls ``obj``'s kind: ``audit_type`` if it says, else its class name in
    snake case (SlaPolicy -> sla_policy)."""
    name = type(obj).__name__
    return getattr(obj, "audit_type", None) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def entry(
    who,
    action: str,
    obj: object = None,
    *,
    object_type: str = "",
    object_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """An unsaved entry about ``obj`` (or the type and id given); save it, or bulk_create."""
    # The case an entry is about: a case names itself (``audit_case_id``), its parts by key.
    case_id = getattr(obj, "audit_case_id", None) or getattr(obj, "case_id", None)
    return AuditEntry(
        at=at or timezone.now(),
        actor=who.user if getattr(who.user, "pk", None) else None,
        actor_name=who.name[:150],
        action=action,
        object_type=object_type or type_of(obj),
        object_id=str(object_id or _id_of(obj))[:64],
        case_id=case_id,
        correlation_id=getattr(obj, "correlation_id", "") or "",
        before=plain(before or {}),
        after=plain(after or {}),
        reason=reason,
    )


def _id_of(obj: object) -> str:
    # A model may name itself by another field than its key (an API key by its prefix: its
    # primary key holds the hash).
    field = getattr(obj, "audit_id_field", None)
    return str(getattr(obj, field if field else "pk", "") or "")


def record(who, action: str, obj: object = None, **kwargs) -> AuditEntry:
    item = entry(who, action, obj, **kwargs)
    item.save()
    return item


def snapshot(obj: Model, exclude: Iterable[str] = ()) -> dict:
    """An object's editable fields as the log keeps them: a related object by its name (an
    auditor reads "invoice", not 3), many-to-many as a sorted list of names."""
    # Without the primary key: it is the entry's object id already.
    values = model_to_dict(obj, exclude=[*exclude, obj._meta.pk.name])
    for field in obj._meta.get_fields():
        if field.name not in values:
            continue
        if field.many_to_one or field.one_to_one:
            related = getattr(obj, field.name, None)
            values[field.name] = str(related) if related is not None else None
        elif field.many_to_many:
            values[field.name] = sorted(str(item) for item in values[field.name])
    return values


def changed(before: dict, after: dict, secrets: Iterable[str] = ()) -> tuple[dict, dict]:
    """The fields that differ, each side; a secret reads "set", "changed" or "" instead."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    was = {k: before.get(k) for k in keys}
    now = {k: after.get(k) for k in keys}
    for field in secrets:
        if field in keys:
            was[field] = "set" if before.get(field) else ""
            now[field] = "changed" if after.get(field) else ""
        else:
            was.pop(field, None)
            now.pop(field, None)
    return was, now


def hidden(values: dict, secrets: Iterable[str]) -> dict:
    """``values`` with each secret as "set" or "" (a created or deleted object's fields)."""
    return {k: ("set" if v else "") if k in set(secrets) else v for k, v in values.items()}


def plain(values: dict) -> dict:
    # JSON-safe copies (datetimes, decimals, UUIDs) so the entry reads the same in every export.
    return orjson.loads(orjson.dumps(values, default=str))


def csv_row(item: AuditEntry) -> Iterable[object]:
    return [
        item.at,
        item.actor_name,
        item.action,
        item.object_type,
        item.object_id,
        item.case_id,
        item.correlation_id,
        orjson.dumps(item.before).decode() if item.before else "",
        orjson.dumps(item.after).decode() if item.after else "",
        item.reason,  # typed by a person: csvstream keeps it from running as a formula
    ]
