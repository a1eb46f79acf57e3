"""What every transport does: check its settings, say where it sends, send one message."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


class TransportError(Exception):
    """Delivery failed. ``permanent``: retrying cannot help (a deleted Slack webhook, a
    rejected address); the channel is then disabled and says why."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Message:
    """One alert as a transport renders it."""

    kind: str  # firing, reminder, resolved, test
    subject: str
    facts: dict
    link: str


class Transport:
    required: tuple[str, ...] = ()

    def __init__(self, config: dict) -> None:
        self.config = config or {}

    @classmethod
    def clean(cls, config: object) -> dict:
        """The config, checked; raises ValidationError naming what is wrong."""
        if not isinstance(config, dict):
            raise ValidationError("The channel settings must be a JSON object.")
        missing = [key for key in cls.required if not str(config.get(key, "")).strip()]
        if missing:
            raise ValidationError(f"Missing: {', '.join(missing)}.")
        return cls.validate(dict(config))

    @classmethod
    def validate(cls, config: dict) -> dict:
        return config

    def describe(self) -> str:
        raise NotImplementedError

    def send(self, message: Message) -> None:
        raise NotImplementedError


def check_url(url: str) -> str:
    """A webhook URL: http(s) with a host; https only in production mode."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{url!r} is not an http(s) URL.")
    if settings.C2C_PRODUCTION and parts.scheme != "https":
        raise ValidationError("Webhook URLs must use https in production.")
    return url


def host_of(url: str) -> str:
    """The URL without its path: a Slack webhook's path is its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "?"


def retry_status(status: int) -> bool:
    return status == 429 or status >= 500
