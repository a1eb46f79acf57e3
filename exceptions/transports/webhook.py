"""Generic webhooks: the alert as JSON, signed like replays (``C2C-Signature``)."""

import httpx
import orjson

from .. import signing
from .base import Message, Transport, TransportError, check_url, host_of, retry_status


class WebhookTransport(Transport):
    required = ("url", "secret")

    @classmethod
    def validate(cls, config: dict) -> dict:
        secret = str(config["secret"])
        if len(secret) < 16:
            from django.core.exceptions import ValidationError

            raise ValidationError("The signing secret must be at least 16 characters.")
        return {"url": check_url(config["url"].strip()), "secret": secret}

    def describe(self) -> str:
        return host_of(self.config.get("url", ""))

    def send(self, message: Message) -> None:
        body = orjson.dumps(
            {
                "kind": message.kind,
                "subject": message.subject,
                "link": message.link,
                **message.facts,
            }
        )
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.sign(body, self.config["secret"]),
            "User-Agent": "c2c-ops-alerts/1",
        }
        try:
            response = httpx.post(self.config["url"], content=body, headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}"[:500]) from exc
        if response.status_code >= 300:
            permanent = not retry_status(response.status_code) and response.status_code in (
                404,
                410,
            )
            raise TransportError(
                f"The webhook answered {response.status_code}: {response.text[:200]}", permanent
            )
