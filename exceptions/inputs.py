"""What a person's request to act on a case or replay may be refused with, and the free
text it carries (a reason, a note), shared by the queue's actions and its replays."""

MAX_TEXT = 4000


class Invalid(ValueError):
    """The request itself is wrong (400): a missing reason, an unknown user."""


class Conflict(Exception):
    """The case cannot take this action in its state (409): e.g. it is resolved."""


def text(value: object, what: str, required: bool = True) -> str:
    """A reason or note: trimmed, required unless said otherwise, at most MAX_TEXT long."""
    cleaned = value.strip() if isinstance(value, str) else ""
    if required and not cleaned:
        raise Invalid(f"A {what} is required.")
    if len(cleaned) > MAX_TEXT:
        raise Invalid(f"The {what} is longer than {MAX_TEXT} characters.")
    return cleaned
