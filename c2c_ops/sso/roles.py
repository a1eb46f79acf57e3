"""The role a person's claims give them, and bringing their groups into line with it."""

from audit import log as audit
from tracking.roles import ROLES, grant, held_roles


def claim_values(claims: dict, path: str) -> list[str]:
    """The strings of a claim; ``path`` may be dotted (Keycloak's ``realm_access.roles``)."""
    value: object = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def role_from_claims(claims: dict, path: str, role_map: dict[str, str]) -> str | None:
    """The highest role any of the claim's values maps to, or None."""
    roles = {role_map[value] for value in claim_values(claims, path) if value in role_map}
    return max(roles, key=ROLES.index, default=None)


def apply(user, role: str | None, who: audit.Who, reason: str) -> bool:
    """Give ``user`` exactly ``role`` (None: no role), as ``manage.py create_user`` would,
    and log the change; False when nothing changed."""
    held = held_roles(user)
    wanted = {role} if role else set()
    admin = role == "admin"
    if held == wanted and user.is_staff == admin and user.is_superuser == admin:
        return False
    before = {"role": max(held, key=ROLES.index, default=None)}
    after = {"role": role}
    if len(held) > 1:
        before["roles"] = sorted(held, key=ROLES.index)
    if user.is_superuser != admin:
        before["is_superuser"], after["is_superuser"] = user.is_superuser, admin
    grant(user, role)
    audit.record(who, "change", user, object_type="user", before=before, after=after,
                 reason=reason)  # fmt: skip
    return True
