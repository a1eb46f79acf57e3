"""Reading the sign-in settings: the role map, and whether SSO is on at all."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tracking.roles import ROLES


def parse_role_map(raw: str, name: str = "OIDC_ROLE_MAP") -> dict[str, str]:
    """``group=role,group=role`` as a dict; a typo stops start-up rather than locking
    people out (or in) quietly."""
    mapping: dict[str, str] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        group, sep, role = (part.strip() for part in item.rpartition("="))
        if not sep or not group or not role:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not group=role (e.g. c2c-admins=admin)"
            )
        if role not in ROLES:
            raise ImproperlyConfigured(
                f"{name}: {item!r} names the role {role!r}; roles are {', '.join(ROLES)}"
            )
        if mapping.get(group, role) != role:
            raise ImproperlyConfigured(f"{name}: {group!r} is mapped to two roles")
        mapping[group] = role
    return mapping


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_ISSUER", ""))


def password_login() -> bool:
    return getattr(settings, "PASSWORD_LOGIN", True)
