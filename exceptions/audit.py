"""The audit log: every action on a case, replay or rule, and its export as CSV."""

from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson
from django.db.models import QuerySet
from django.utils import timezone

from c2c_ops import csvstream

from .actors import Actor
from .models import AuditEntry

_TYPES = {"ExceptionCase": "case", "OwnershipRule": "rule", "TeamMember": "team_member"}
CSV_COLUMNS = [
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "correlation_id",
    "before",
    "after",
    "reason",
]


def entry(
    actor: Actor,
    action: str,
    obj: object,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """An unsaved entry for ``obj`` (a case, replay or rule); save it, or bulk_create many."""
    case_id = getattr(obj, "case_id", None)
    if case_id is None and type(obj).__name__ == "ExceptionCase":
        case_id = obj.pk
    return AuditEntry(
        at=at or timezone.now(),
        actor=actor.user,
        actor_name=actor.name,
        action=action,
        object_type=_TYPES.get(type(obj).__name__, type(obj).__name__.lower()),
        object_id=str(obj.pk),
        case_id=case_id,
        correlation_id=getattr(obj, "correlation_id", ""),
        before=_plain(before or {}),
        after=_plain(after or {}),
        reason=reason,
    )


def record(actor: Actor, action: str, obj: object, **kwargs) -> AuditEntry:
    item = entry(actor, action, obj, **kwargs)
    item.save()
    return item


def _plain(values: dict) -> dict:
    # JSON-safe copies (datetimes, decimals, UUIDs) so the entry reads the same in every export.
    return orjson.loads(orjson.dumps(values, default=str))


def csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """CSV lines for ``entries``, read in chunks so a long history never sits in memory."""
    items = entries.order_by("at", "id").iterator(chunk_size=2000)
    return csvstream.lines(CSV_COLUMNS, (_row(item) for item in items))


def _row(item: AuditEntry) -> Iterable[object]:
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
