"""Keyset ("cursor") pagination for big ordered lists: the next page starts after the last
row shown, so page 1,000 costs what page 1 does, and rows arriving meanwhile do not shift
what the reader sees. Columns may hold NULLs; they sort last either way.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet


class BadCursor(ValueError):
    pass


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def ordered(queryset: QuerySet, field: str, descending: bool) -> QuerySet:
    column = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return queryset.order_by(column, "-id" if descending else "id")


def page(queryset: QuerySet, field: str, descending: bool, cursor: str, size: int) -> Page:
    rows = ordered(queryset, field, descending)
    if cursor:
        value, last_id = _decode(cursor, queryset.model._meta.get_field(field))
        rows = rows.filter(_after(field, descending, value, last_id))
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    next_cursor = _encode(getattr(found[-1], field), found[-1].pk) if more else None
    return Page(found, next_cursor)


def _after(field: str, descending: bool, value: object, last_id: int) -> Q:
    beyond = "lt" if descending else "gt"
    if value is None:  # already in the NULLs at the end: only ids remain to order
        return Q(**{f"{field}__isnull": True, f"id__{beyond}": last_id})
    return (
        Q(**{f"{field}__{beyond}": value})
        | Q(**{field: value, f"id__{beyond}": last_id})
        | Q(**{f"{field}__isnull": True})
    )


def _encode(value: object, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    return base64.urlsafe_b64encode(orjson.dumps([value, pk])).decode().rstrip("=")


def _decode(cursor: str, field) -> tuple[object, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = orjson.loads(raw)
        if not isinstance(pk, int):
            raise TypeError
        return (None if value is None else field.to_python(value)), pk
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError, ValidationError) as exc:
        raise BadCursor(
            "That page link is broken or out of date: start from the first page."
        ) from exc
