"""Keyset ("cursor") pagination for big ordered lists: the next page starts after the last
row shown, so page 1,000 costs what page 1 does, and rows arriving meanwhile do not shift
what the reader sees. Columns may hold NULLs; they sort last either way.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

import orjson
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet


class BadCursor(ValueError):
    pass


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def page(queryset: QuerySet, field: str, descending: bool, cursor: str, size: int) -> Page:
    """The ``size`` rows after ``cursor`` in (field, id) order, NULLs of a nullable field last.

    ``field`` may follow a one-to-one relation (``state__last_event_at``), for an order an
    index of the related table serves; the queryset then selects that relation. Or it may
    name an annotation of the queryset (a value worked out from another table).

    The NULLs are read as a second, id-ordered part rather than with NULLS LAST, which an
    ordinary index on the field cannot serve: each part is an index range scan.
    """
    beyond = "lt" if descending else "gt"
    by_id = "-id" if descending else "id"
    column = F(field).desc() if descending else F(field).asc()
    model_field = _model_field(queryset, field)
    nullable = model_field.null
    value, last_id = _decode(cursor, model_field) if cursor else (0, None)
    in_nulls = bool(cursor) and value is None
    found: list = []
    if not in_nulls:
        part = queryset.filter(**{f"{field}__isnull": False}) if nullable else queryset
        part = part.order_by(column, by_id)
        if cursor:
            # (field, id) beyond the cursor; the first bound alone starts the index range.
            part = part.filter(
                Q(**{f"{field}__{beyond}e": value})
                & (Q(**{f"{field}__{beyond}": value}) | Q(**{f"id__{beyond}": last_id}))
            )
        found = list(part[: size + 1])
    if nullable and len(found) <= size:
        nulls = queryset.filter(**{f"{field}__isnull": True}).order_by(by_id)
        if in_nulls:
            nulls = nulls.filter(**{f"id__{beyond}": last_id})
        found += list(nulls[: size + 1 - len(found)])
    more = len(found) > size
    found = found[:size]
    next_cursor = (
        _encode(attrgetter(field.replace("__", "."))(found[-1]), found[-1].pk) if more else None
    )
    return Page(found, next_cursor)


def _model_field(queryset: QuerySet, path: str):
    """The field ``path`` names: of the model, through relations, or an annotation's."""
    if path in queryset.query.annotations:
        return queryset.query.annotations[path].output_field
    model = queryset.model
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


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
