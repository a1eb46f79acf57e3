"""Machine clients: ``Authorization: Bearer <key>``, a key per flow, hashed at rest."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .models import FlowAPIKey

# "Last used" is to tell a live key from a forgotten one, not an access log: a minute is
# precise enough, and spares ingest (hundreds of requests a second) a write per request.
TOUCH_EVERY = timedelta(seconds=60)


def bearer_key(meta: dict) -> str | None:
    """The key of a Bearer Authorization header, or None when there is no such header."""
    header = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip()


def verify(key: str) -> FlowAPIKey | None:
    """The live key matching ``key``: not revoked, not expired, hash verified."""
    if not key or "." not in key:
        return None
    try:
        api_key = FlowAPIKey.objects.get_from_key(key)
    except FlowAPIKey.DoesNotExist:
        return None
    if api_key.has_expired:
        return None
    touch(api_key)
    return api_key


def touch(api_key: FlowAPIKey, now: datetime | None = None) -> bool:
    """Note that ``api_key`` was just used; True when this call wrote it.

    The row was read to verify the key, so a recent ``last_used_at`` costs no query. When it
    is stale, several processes may see so at once: the UPDATE's condition lets one write,
    and the others match no row (PostgreSQL re-reads the row after waiting for its lock).
    """
    now = now or timezone.now()
    last = api_key.last_used_at
    if last is not None and now - last < TOUCH_EVERY:
        return False
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    written = FlowAPIKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
    return bool(written)


@dataclass(frozen=True)
class KeyUser:
    """Stands for a flow's key where Django expects a user (DRF's request.user)."""

    api_key: FlowAPIKey
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def username(self) -> str:
        return f"flow:{self.api_key.flow.slug}"

    def __str__(self) -> str:
        return self.username
