"""Who is acting: a signed-in person, a flow's API key, a routing rule, or the system."""

from dataclasses import dataclass, field

from tracking.keys import KeyUser
from tracking.roles import user_scopes


class NotAllowed(PermissionError):
    """The actor lacks the scope the action needs (403)."""


@dataclass(frozen=True)
class Actor:
    name: str
    user: object | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, user) -> "Actor":
        """The actor behind a request's user: a person, or a flow key (DRF's KeyUser)."""
        if isinstance(user, KeyUser):
            return cls(user.username, None, frozenset(user.api_key.scopes))
        return cls(user.get_username(), user, user_scopes(user))

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise NotAllowed(f"{self.name} may not do this: it needs the {scope} scope.")


SYSTEM = Actor("system", None, frozenset({"read", "operate"}))


def rule_actor(rule_id: int) -> Actor:
    return Actor(f"rule:{rule_id}", None, frozenset({"operate"}))
