"""Slack incoming webhooks: a Block Kit message, sent with slack_sdk's WebhookClient."""

from slack_sdk.webhook import WebhookClient

from .base import Message, Transport, TransportError, check_url, host_of, retry_status

# Slack answers these when the webhook itself is gone or refused: retrying cannot help.
PERMANENT = (
    "no_service",
    "no_team",
    "team_disabled",
    "channel_is_archived",
    "invalid_token",
    "action_prohibited",
    "posting_to_general_channel_denied",
    "no_active_hooks",
)
EMOJI = {
    "firing": ":rotating_light:",
    "reminder": ":hourglass:",
    "resolved": ":white_check_mark:",
    "test": ":wave:",
}


class SlackTransport(Transport):
    required = ("url",)

    @classmethod
    def validate(cls, config: dict) -> dict:
        return {"url": check_url(config["url"].strip())}

    def describe(self) -> str:
        return host_of(self.config.get("url", ""))

    def send(self, message: Message) -> None:
        # No retry handlers: slack_sdk's own retry would post again behind our back (our
        # outbox retries), and it logs the full URL, whose path is the webhook's secret.
        client = WebhookClient(self.config["url"], timeout=10, retry_handlers=[])
        try:
            response = client.send(text=f"{message.subject}", blocks=blocks(message))
        except Exception as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}"[:500]) from exc
        if 200 <= response.status_code < 300:
            return
        body = (response.body or "").strip()
        permanent = not retry_status(response.status_code) and (
            body in PERMANENT or response.status_code in (403, 404, 410)
        )
        raise TransportError(f"Slack answered {response.status_code}: {body[:200]}", permanent)


def blocks(message: Message) -> list[dict]:
    facts = message.facts
    fields = [
        ("Amount", facts.get("amount_text")),
        ("Correlation ID", facts.get("correlation_id")),
        ("Stage", facts.get("stage")),
        ("Error", facts.get("error")),
        ("Age", facts.get("age")),
        ("Owner", facts.get("owner")),
    ]
    shown = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in fields if value]
    out = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{EMOJI.get(message.kind, '')} *{message.subject}*",
            },
        }
    ]
    if shown:
        out.append({"type": "section", "fields": shown[:10]})
    if facts.get("detail"):
        out.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": str(facts["detail"])[:2900]}}
        )
    if message.link:
        out.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in c2c-ops"},
                     "url": message.link}
                ],
            }
        )  # fmt: skip
    return out
