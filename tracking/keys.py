"""Machine clients: ``Authorization: Bearer <key>``, a key per flow, hashed at rest."""

from dataclasses import dataclass

from .models import FlowAPIKey


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
    return api_key


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
