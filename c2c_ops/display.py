"""Display filters every page may load (``{% load display %}``): money, ages, durations,
ratios, sparklines. One library for all apps, so no app loads another's tags.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None) -> str:
    """An amount in the reporting currency, grouped by thousands; a dash when unpriced."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {settings.REPORTING_CURRENCY}"


@register.filter
def age(since: datetime | None) -> str:
    """A short age for a table cell: 45m, 5h, 3d 4h."""
    if since is None:
        return ""
    seconds = max(int((timezone.now() - since).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h"
    return f"{rest // 60}m"


@register.filter
def words(text: str) -> list[str]:
    return text.split()


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key, "")


@register.filter
def duration(seconds: float | None) -> str:
    """A latency for a tile: 45m, 5.2h, 3.1d; a dash when nothing was measured."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@register.filter
def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1%}"


@register.filter
def amount(value: object) -> str:
    """A decimal string or number in the reporting currency, grouped by thousands."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError):
        return "—"
    return f"{number:,.0f} {settings.REPORTING_CURRENCY}"


@register.filter
def signed(value: Decimal | None) -> str:
    if value is None:
        return ""
    arrow = "▲" if value > 0 else "▼" if value < 0 else "="
    return f"{arrow} {abs(value):,.0f} {settings.REPORTING_CURRENCY}"


@register.filter
def duration_td(value) -> str:
    """A timedelta as days and hours, or hours and minutes when under a day."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"


@register.filter
def sparkline(points: list[dict]) -> str:
    """A tiny inline SVG line of a series' values; the figures beside it carry the meaning."""
    values = [float(p["value"] or 0) for p in points]
    if len(values) < 2:
        return mark_safe('<span class="muted">—</span>')
    width, height, top = 120, 28, max(values) or 1
    step = width / (len(values) - 1)
    path = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return mark_safe(  # noqa: S308 - numbers only
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-hidden="true"><polyline fill="none" stroke="currentColor" stroke-width="1.5"'
        f' points="{path}"/></svg>'
    )


@register.filter
def changes(entry) -> list[tuple[str, str, str]]:
    """An audit entry's before and after as (field, was, became) lines a person reads,
    instead of two Python dicts side by side."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    fields = list(dict.fromkeys([*before, *after]))
    return [
        (field.replace("_", " "), _shown(before.get(field)), _shown(after.get(field)))
        for field in fields
    ]


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) or "—"
    return str(value)
