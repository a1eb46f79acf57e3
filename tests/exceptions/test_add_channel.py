"""manage.py add_channel: the DESIGN.md command, with clear errors for bad input."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from audit.models import AuditEntry
from exceptions.models import Channel

pytestmark = pytest.mark.django_db


def add(*args: str) -> str:
    import io

    out = io.StringIO()
    call_command("add_channel", *args, stdout=out)
    return out.getvalue()


def test_adds_each_kind_for_a_team():
    assert "email to ops@example.com for team billing" in add(
        "email", "ops@example.com", "--team", "billing"
    )
    add("slack", "https://hooks.slack.com/services/T/B/X", "--team", "billing")
    add("webhook", "https://ops.example/hook", "--team", "erp", "--secret", "s" * 20)
    assert sorted(Channel.objects.values_list("kind", "team")) == [
        ("email", "billing"),
        ("slack", "billing"),
        ("webhook", "erp"),
    ]
    # The Slack URL's path is its secret: never shown back.
    assert Channel.objects.get(kind="slack").target == "https://hooks.slack.com/…"
    assert AuditEntry.objects.filter(action="add_channel").count() == 3


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("email", "not-an-address", "--team", "billing"), "is not an email address"),
        (("slack", "ftp://example.com/x", "--team", "billing"), "is not an http(s) URL"),
        (("webhook", "https://ops.example/hook", "--team", "erp"), "needs --secret"),
        (
            ("webhook", "https://ops.example/hook", "--team", "erp", "--secret", "short"),
            "16 characters",
        ),
        (("email", "ops@example.com", "--team", " "), "--team must name a team"),
    ],
)
def test_refuses_bad_input(args, error):
    with pytest.raises(CommandError, match=error.replace("(", r"\(").replace(")", r"\)")):
        add(*args)
    assert not Channel.objects.exists()


@override_settings(C2C_PRODUCTION=True)
def test_production_webhooks_must_be_https():
    with pytest.raises(CommandError, match="https in production"):
        add("slack", "http://hooks.example/x", "--team", "billing")
