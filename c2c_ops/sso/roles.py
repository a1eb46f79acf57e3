"""The role a person's claims give them, and bringing their groups into line with it."""

from django.contrib.auth.models import Group

from audit import log as audit
from tracking.roles import ROLES


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


def _held(user) -> set[str]:
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


def apply(user, role: str | None, who: audit.Who, reason: str) -> bool:
    """Give ``user`` exactly ``role`` (None: no role), as ``manage.py create_user`` would,
    and log the change; False when nothing changed."""
    held = _held(user)
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
    user.groups.remove(*Group.objects.filter(name__in=held - wanted))
    if role and role not in held:
        user.groups.add(Group.objects.get(name=role))
    # Admins also get the Django admin, where journeys, flows and keys are edited.
    user.is_staff = user.is_superuser = admin
    user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_c2c_scopes", None)  # tracking.roles caches a user's scopes
    audit.record(who, "change", user, object_type="user", before=before, after=after,
                 reason=reason)  # fmt: skip
    return True
