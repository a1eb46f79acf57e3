"""Configuring alerts in the admin: channel settings checked per kind, secrets kept out of
the audit log, a test message on demand; only admins get in."""

import pytest
from django.test import Client

from audit.models import AuditEntry
from c2c_ops.celery import app as celery_app
from exceptions.models import Alert, Channel

from ..hooks import HookServer

pytestmark = pytest.mark.django_db
SECRET = "do-not-log-this-secret-123"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(kind: str, config: str, team: str = "billing") -> dict:
    return {"kind": kind, "team": team, "name": "", "config": config, "enabled": "on",
            "disabled_reason": ""}  # fmt: skip


def test_a_bad_config_is_refused_with_the_reason(admin_user):
    response = admin_client(admin_user).post(
        "/admin/c2c_exceptions/channel/add/", form("email", '{"address": "nope"}')
    )
    assert response.status_code == 200 and "is not an email address" in response.content.decode()
    assert not Channel.objects.exists()


def test_the_audit_log_never_holds_a_webhook_secret(admin_user):
    config = f'{{"url": "https://ops.example/secret-path", "secret": "{SECRET}"}}'
    response = admin_client(admin_user).post(
        "/admin/c2c_exceptions/channel/add/", form("webhook", config)
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(object_type="channel")
    assert entry.actor_name == admin_user.username
    text = str(entry.before) + str(entry.after)
    assert SECRET not in text and "secret-path" not in text
    assert entry.after["target"] == "https://ops.example/…"


def test_send_a_test_message(admin_user, django_capture_on_commit_callbacks):
    celery_app.conf.task_always_eager = True
    try:
        with HookServer() as hook:
            slack = Channel.objects.create(kind="slack", team="billing", config={"url": hook.url})
            with django_capture_on_commit_callbacks(execute=True):
                admin_client(admin_user).post(
                    "/admin/c2c_exceptions/channel/",
                    {"action": "send_test", "_selected_action": [slack.pk]},
                )
    finally:
        celery_app.conf.task_always_eager = False
    (got,) = hook.requests
    assert "Test message for billing" in got["json"]["text"]
    assert Alert.objects.get().outcome == "sent"


def test_operators_and_viewers_cannot_configure(operator, viewer):
    for user in (operator, viewer):
        response = admin_client(user).get("/admin/c2c_exceptions/channel/")
        assert response.status_code == 302  # to the admin login: not staff


def test_secrets_are_write_only_in_the_admin(admin_user):
    hook = Channel.objects.create(
        kind="webhook", team="erp", config={"url": "https://ops.example/h", "secret": SECRET}
    )
    slack = Channel.objects.create(
        kind="slack", team="erp", config={"url": "https://hooks.slack.com/services/T/B/XYZ"}
    )
    client = admin_client(admin_user)
    for channel in (hook, slack):
        page = client.get(f"/admin/c2c_exceptions/channel/{channel.pk}/change/").content.decode()
        assert SECRET not in page and "services/T/B/XYZ" not in page
    # Saving the masked form (another field changed) keeps the stored secret.
    masked = '{"url": "https://ops.example/h", "secret": "********"}'
    response = client.post(
        f"/admin/c2c_exceptions/channel/{hook.pk}/change/", form("webhook", masked, team="erp-2")
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.team == "erp-2" and hook.config["secret"] == SECRET
