from datetime import datetime
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import timezone

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
