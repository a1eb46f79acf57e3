"""Machine clients: ``Authorization: Bearer <key>``, a key per flow, hashed at rest."""

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import Flow, FlowAPIKey

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


# Keys this process verified lately: SHA-256 of the key -> (monotonic time, row with its
# flow). Only keys that verified are kept, so the table holds at most the live keys.
_verified: dict[bytes, tuple[float, FlowAPIKey]] = {}
_clock = time.monotonic
# Moves on at every forget(): a row read before a change is not kept after it.
_generation = 0


def verify(key: str) -> FlowAPIKey | None:
    """The live key matching ``key``: not revoked, not expired, hash verified.

    A key verified in the last ``API_KEY_CACHE_SECONDS`` is trusted without reading it
    again: an ingest request then needs no query of its own. A change saved in this process
    forgets the key at once (``forget``); other processes see a revocation when their trust
    runs out. Expiry is checked on every request.
    """
    if not key or "." not in key:
        return None
    digest = hashlib.sha256(key.encode()).digest()
    now = _clock()
    known = _verified.get(digest)
    if known is not None and now - known[0] < settings.API_KEY_CACHE_SECONDS:
        api_key = known[1]
    else:
        generation = _generation
        try:
            api_key = FlowAPIKey.objects.get_from_key(key)
        except FlowAPIKey.DoesNotExist:
            _verified.pop(digest, None)
            return None
        # A revocation committed while the row was being read: trust it this once only.
        if settings.API_KEY_CACHE_SECONDS > 0 and generation == _generation:
            _verified[digest] = (now, api_key)
    if api_key.has_expired:
        return None
    touch(api_key)
    return api_key


def forget(key_id: str | None = None) -> None:
    """Trust no verification of this key (of any key when None) made before now."""
    global _generation
    _generation += 1
    for digest, (_, api_key) in list(_verified.items()):
        if key_id is None or api_key.pk == key_id:
            _verified.pop(digest, None)


def _changed(sender, instance, **_: object) -> None:
    # Now, and again at commit: a request verifying the key meanwhile read the old row.
    key_id = instance.pk if sender is FlowAPIKey else None
    forget(key_id)
    transaction.on_commit(lambda: forget(key_id))


def connect_cache_invalidation() -> None:
    """A key saved or deleted, or any flow (its keys carry it), is verified afresh."""
    for model in (FlowAPIKey, Flow):
        post_save.connect(_changed, sender=model, dispatch_uid=f"keys-{model.__name__}-save")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"keys-{model.__name__}-delete")


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
