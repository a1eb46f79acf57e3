"""Alerts end to end: a case opens, its owner team hears about it on every channel, once.

Email goes through a real SMTP server (aiosmtpd on 127.0.0.1, Django's SMTP backend);
Slack and webhooks through a real HTTP server on 127.0.0.1 that records what arrives.
"""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from exceptions import actions, alerts, delivery, signing
from exceptions.actors import Actor
from exceptions.models import Alert, AlertRule, Channel, MaintenanceWindow, Notification
from exceptions.tasks import send_alerts

from ..hooks import HookServer, SmtpServer
from .helpers import failed_case

pytestmark = pytest.mark.django_db
SECRET = "webhook-secret-0123456789"


def channel(kind: str, target: str, team: str = "billing", **extra) -> Channel:
    config = {"address": target} if kind == "email" else {"url": target, **extra}
    return Channel.objects.create(kind=kind, team=team, config=config)


def test_a_new_case_emails_its_owner_team(ingest_client, flow):
    with SmtpServer() as server, server.settings():
        channel("email", "billing-ops@example.com")
        channel("email", "elsewhere@example.com", team="erp")  # another team: not told
        case = failed_case(ingest_client, "SOW-MAIL", amount="2500.00")
        assert send_alerts.run() == {"alerts sent": 1, "left to retry": 0}

    (got,) = server.messages
    assert got["to"] == ["billing-ops@example.com"]
    mail = got["message"]
    assert "SOW-MAIL" in mail["Subject"] and "invoice_generated" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for fact in ("2,500.00 USD", "SOW-MAIL", "invoice_generated", "ERP-500", "team billing"):
        assert fact in text and fact in html
    assert (
        f"/exceptions/{case.pk}/" in text
        and f'href="http://127.0.0.1:8000/exceptions/{case.pk}/"' in html
    )


def test_slack_gets_a_block_kit_message(ingest_client, flow):
    with HookServer() as hook:
        channel("slack", hook.url)
        case = failed_case(ingest_client, "SOW-SLACK", amount="900.00")
        send_alerts.run()
    (got,) = hook.requests
    body = got["json"]
    assert "SOW-SLACK" in body["text"]
    fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
    for label in ("Amount", "Correlation ID", "Stage", "Error", "Age", "Owner"):
        assert f"*{label}*" in fields
    assert "900.00 USD" in fields and "ERP-500" in fields
    button = body["blocks"][-1]["elements"][0]
    assert button["url"].endswith(f"/exceptions/{case.pk}/")


def test_webhooks_are_signed(ingest_client, flow):
    with HookServer() as hook:
        channel("webhook", hook.url, secret=SECRET)
        failed_case(ingest_client, "SOW-HOOK")
        send_alerts.run()
    (got,) = hook.requests
    assert signing.verify(got["raw"], got["headers"][signing.HEADER], SECRET)
    assert not signing.verify(got["raw"], got["headers"][signing.HEADER], "another-secret-123456")
    assert got["json"]["kind"] == "firing" and got["json"]["correlation_id"] == "SOW-HOOK"
    assert got["json"]["dedup_key"].startswith("case:")


def test_one_message_per_firing_however_often_it_runs(ingest_client, flow):
    with HookServer() as hook:
        channel("slack", hook.url)
        case = failed_case(ingest_client, "SOW-ONCE")
        alerts.on_opened([case])  # the same change seen again
        for _ in range(3):
            send_alerts.run()
            for alert_id in Alert.objects.values_list("pk", flat=True):
                delivery.deliver(alert_id)
    assert len(hook.requests) == 1
    assert Alert.objects.count() == 1


@override_settings(ALERT_RETRY_SECONDS=0)
def test_a_503_is_retried(ingest_client, flow):
    with HookServer(replies=[(503, "busy")]) as hook:
        channel("slack", hook.url)
        failed_case(ingest_client, "SOW-RETRY")
        alert = Alert.objects.get()
        first = delivery.deliver(alert.pk)
        assert not first.done and "503" in first.detail
        assert delivery.deliver(alert.pk).done
    assert len(hook.requests) == 2
    alert.refresh_from_db()
    assert alert.outcome == "sent" and alert.attempts == 2
    assert list(Notification.objects.order_by("at", "id").values_list("ok", flat=True)) == [
        False,
        True,
    ]


def test_a_deleted_slack_webhook_disables_the_channel_and_says_why(ingest_client, flow):
    with HookServer(replies=[(404, "no_service")]) as hook:
        slack = channel("slack", hook.url)
        failed_case(ingest_client, "SOW-GONE")
        send_alerts.run()
        failed_case(ingest_client, "SOW-GONE-2")
        send_alerts.run()
    slack.refresh_from_db()
    assert not slack.enabled and "no_service" in slack.disabled_reason
    assert len(hook.requests) == 1  # nothing more is sent to a channel that is gone
    assert Notification.objects.filter(permanent=True).count() == 1


def test_resolving_a_case_sends_a_resolved_message(ingest_client, flow, operator):
    with HookServer() as hook:
        channel("slack", hook.url)
        case = failed_case(ingest_client, "SOW-FIXED")
        send_alerts.run()
        actions.resolve(Actor.of(operator), case.pk, "fixed the cost centre")
        send_alerts.run()
    first, resolved = (r["json"]["text"] for r in hook.requests)
    assert first.startswith("SOW-FIXED failed at invoice_generated")
    assert resolved.startswith("Resolved: SOW-FIXED")


def test_reminders_follow_the_rule_interval_while_the_case_stays_open(ingest_client, flow):
    AlertRule.objects.update(remind_every=timedelta(hours=4))
    with HookServer() as hook:
        channel("slack", hook.url)
        case = failed_case(ingest_client, "SOW-REMIND")
        send_alerts.run()
        later = timezone.now() + timedelta(hours=4, minutes=1)
        alerts.reminders(later)
        alerts.reminders(later)  # the same reminder, not a second one
        for alert_id in delivery.due(later):
            delivery.deliver(alert_id, later)
        assert len(hook.requests) == 2 and "Still open" in hook.requests[1]["json"]["text"]
        # Snoozed: the next reminder is written but silenced.
        case.status, case.snoozed_until = "snoozed", later + timedelta(days=1)
        case.save()
        much_later = later + timedelta(hours=4)
        alerts.reminders(much_later)
    assert len(hook.requests) == 2  # snoozed cases get no reminder at all


def test_a_maintenance_window_silences_the_flow(ingest_client, flow):
    now = timezone.now()
    MaintenanceWindow.objects.create(
        flow=flow, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    with HookServer() as hook:
        channel("slack", hook.url)
        failed_case(ingest_client, "SOW-QUIET")
        send_alerts.run()
    assert hook.requests == []
    alert = Alert.objects.get()
    assert alert.outcome == "silenced"
    assert "maintenance window" in Notification.objects.get(alert=alert).detail


def test_rules_filter_by_amount_and_can_name_channels(ingest_client, flow):
    AlertRule.objects.update(min_amount=5000)
    with HookServer() as hook:
        channel("slack", hook.url)
        failed_case(ingest_client, "SOW-SMALL", amount="100.00")
        failed_case(ingest_client, "SOW-LARGE", amount="9000.00")
        send_alerts.run()
    assert [r["json"]["text"].split()[0] for r in hook.requests] == ["SOW-LARGE"]


def test_a_rule_that_names_channels_uses_only_those(ingest_client, flow):
    with HookServer() as named, HookServer() as team_wide:
        chosen = channel("slack", named.url, team="escalations")
        channel("slack", team_wide.url)  # the owning team's own channel
        rule = AlertRule.objects.get()
        rule.channels.add(chosen)
        failed_case(ingest_client, "SOW-NAMED")
        send_alerts.run()
    assert len(named.requests) == 1 and team_wide.requests == []


def test_a_case_resolved_before_its_alert_left_is_not_paged(ingest_client, flow, operator):
    with HookServer() as hook:
        channel("slack", hook.url)
        case = failed_case(ingest_client, "SOW-QUICK")
        actions.resolve(Actor.of(operator), case.pk, "fixed within seconds")
        send_alerts.run()
    assert hook.requests == []
    assert "was resolved" in Notification.objects.get().detail


def test_a_refused_address_disables_the_email_channel_but_a_full_mailbox_does_not(
    ingest_client, flow
):
    with SmtpServer(refuse=("left@example.com",)) as server, server.settings():
        gone = channel("email", "left@example.com")
        failed_case(ingest_client, "SOW-BOUNCE")
        send_alerts.run()
    gone.refresh_from_db()
    assert not gone.enabled and "550" in gone.disabled_reason


def test_an_unexpected_error_is_logged_and_retried_not_stuck(ingest_client, flow):
    broken = Channel.objects.create(kind="slack", team="billing", config={})  # no URL at all
    failed_case(ingest_client, "SOW-BROKEN")
    alert = Alert.objects.get(channel=broken)
    outcome = delivery.deliver(alert.pk)
    assert not outcome.done and "KeyError" in outcome.detail
    alert.refresh_from_db()
    assert alert.processed_at is None and alert.claimed_until is None
    assert alert.next_attempt_at is not None
    assert Notification.objects.get(alert=alert).ok is False
