"""Alert transports, one small module per kind of channel, sharing ``base.Transport``."""

from .base import Transport, TransportError
from .email import EmailTransport
from .slack import SlackTransport
from .webhook import WebhookTransport

KINDS: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "slack": SlackTransport,
    "webhook": WebhookTransport,
}


def transport_for(channel) -> Transport:
    return KINDS[channel.kind](channel.config)


__all__ = ["KINDS", "Transport", "TransportError", "transport_for"]
