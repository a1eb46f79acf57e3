"""Browser roles and what each may do, as scopes shared with API keys.

A user's role is a Django group of the same name (created by a data migration); superusers
hold every scope. ``ingest`` belongs to flows' keys only: people do not report events.
"""

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "operate"}),
    "admin": frozenset({"read", "operate", "configure"}),
}
ROLES = tuple(ROLE_SCOPES)


def user_scopes(user) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if getattr(user, "is_superuser", False):
        return ROLE_SCOPES["admin"]
    cached = getattr(user, "_c2c_scopes", None)
    if cached is None:
        names = user.groups.filter(name__in=ROLES).values_list("name", flat=True)
        cached = frozenset().union(*(ROLE_SCOPES[n] for n in names))
        user._c2c_scopes = cached
    return cached


def held_roles(user) -> set[str]:
    """The role groups ``user`` belongs to (normally one)."""
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


def role_of(user) -> str:
    """The user's role as the pages name it: the highest one held, or "" for none."""
    if getattr(user, "is_superuser", False):
        return "admin"
    return max(held_roles(user), key=ROLES.index, default="")


def grant(user, role: str | None) -> None:
    """Give a saved ``user`` exactly ``role`` (None: no role): its group only, and for an
    admin the Django admin too, where journeys, flows and keys are edited."""
    # Here, not at the top: settings read ROLES before Django's apps are loaded.
    from django.contrib.auth.models import Group

    user.is_staff = user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role or ""))
    if role:
        user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("_c2c_scopes", None)  # user_scopes caches what the groups gave


def user_state(user) -> dict:
    """What the audit log keeps of a person's account: role and access, never the password."""
    return {
        "role": role_of(user),
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }
