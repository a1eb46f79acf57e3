"""Email through Django's configured backend (SMTP in production), HTML and plain text."""

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string

from .base import Message, Transport, TransportError


class EmailTransport(Transport):
    required = ("address",)

    @classmethod
    def validate(cls, config: dict) -> dict:
        address = config["address"].strip()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(f"{address!r} is not an email address.") from exc
        return {"address": address}

    def describe(self) -> str:
        return self.config.get("address", "?")

    def send(self, message: Message) -> None:
        context = {"message": message, "facts": message.facts}
        mail = EmailMultiAlternatives(
            subject=f"[c2c-ops] {message.subject}",
            body=render_to_string("exceptions/alerts/email.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.config["address"]],
        )
        mail.attach_alternative(
            render_to_string("exceptions/alerts/email.html", context), "text/html"
        )
        try:
            mail.send()
        except Exception as exc:  # smtplib and socket errors alike
            detail = f"{type(exc).__name__}: {exc}"[:500]
            raise TransportError(detail, _refused_for_good(exc)) from exc


def _refused_for_good(exc: Exception) -> bool:
    """Only a 5xx refusal of the address itself is final. 4xx (greylisting) passes later,
    and a refused sender is the server's setup, not this channel's: never disable for it."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused):
        return False
    codes = [code for code, _ in exc.recipients.values()]
    return bool(codes) and all(code >= 500 for code in codes)
