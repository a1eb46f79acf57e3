"""Cache computed figures until the figures behind them change.

Pre-computed tables change only when a refresh, rebuild or snapshot commits (once a
minute), yet a dashboard asks for the same summary many times in between. Entries are
keyed by ``MetricsVersion``, which those writers move in their own database transaction,
so a cached answer is exactly what would be computed now; ``METRICS_CACHE_SECONDS`` bounds
how long one is kept (0: no cache).
"""

import hashlib
import random
from collections.abc import Callable
from typing import TypeVar

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .models import MetricsVersion
from .queries import parse_window, window_bounds

T = TypeVar("T")
_TABLE = MetricsVersion._meta.db_table


def bump() -> None:
    """Move the version: call inside the transaction that changes figures."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (id, version) VALUES (1, %s) "  # noqa: S608
            f"ON CONFLICT (id) DO UPDATE SET version = {_TABLE}.version + 1",
            [random.randrange(1 << 62)],
        )


def current() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        bump()
        return current()
    return row[0]


def key(kind: str, parts: object) -> str:
    """A cache key naming these ``parts`` (filters, windows...), however long they are."""
    digest = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"c2c:{kind}:{digest}"


def cached(kind: str, parts: object, compute: Callable[[], T]) -> T:
    """``compute()``, or its answer for these ``parts`` at the current version."""
    timeout = settings.METRICS_CACHE_SECONDS
    if not timeout:
        return compute()
    entry = key(f"{kind}:{current()}", parts)
    value = cache.get(entry)
    if value is None:
        value = compute()
        cache.set(entry, value, timeout)
    return value


def cached_window(
    kind: str, window: str, filters: dict[str, str], now, compute: Callable[[], T], *extra
) -> T:
    """``cached`` for a figure over a window: also dropped when the window moves on to the
    next 5-minute bucket."""
    _, end = window_bounds(now, parse_window(window))
    return cached(kind, [*extra, window, filters, end.isoformat()], compute)
