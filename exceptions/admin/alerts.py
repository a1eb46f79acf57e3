"""Admin for alerts: channels (validated per kind, secrets never shown or audited, a "send a
test message" action), rules and maintenance windows (audited), and the read-only history."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict

from audit import log as audit

from .. import alerts
from ..actors import Actor
from ..models import Alert, AlertRule, Channel, MaintenanceWindow, Notification
from ..transports import KINDS
from ..transports.base import host_of
from .base import AuditedAdmin, ReadOnlyAdmin


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["kind", "team", "name", "config", "enabled", "disabled_reason"]
        help_texts = {
            "config": 'email: {"address": ".."}; slack: {"url": ".."}; '
            'webhook: {"url": "..", "secret": "16+ characters"}',
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Secrets are write-only: shown masked; a masked value sent back keeps the old one.
            self.initial["config"] = masked(self.instance.kind, self.instance.config)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if self.instance.pk and isinstance(data.get("config"), dict):
            stored = self.instance.config or {}
            shown = masked(self.instance.kind, stored)
            data["config"] = {
                key: stored.get(key) if key in shown and value == shown[key] else value
                for key, value in data["config"].items()
            }
        if kind in KINDS and "config" in data:
            try:
                data["config"] = KINDS[kind].clean(data["config"])
            except ValidationError as exc:
                self.add_error("config", exc)
        return data


MASK = "********"


def masked(kind: str, config: dict) -> dict:
    """The config as the admin shows it: no webhook secret, no Slack URL path."""
    shown = dict(config or {})
    if "secret" in shown:
        shown["secret"] = MASK
    if kind == "slack" and shown.get("url"):
        shown["url"] = host_of(shown["url"])
    return shown


@admin.register(Channel)
class ChannelAdmin(AuditedAdmin):
    form = ChannelForm
    list_display = ["team", "kind", "name", "target", "enabled", "disabled_reason"]
    list_filter = ["kind", "team", "enabled"]
    actions = ["send_test", "enable"]

    def audit_snapshot(self, obj) -> dict:
        values = model_to_dict(obj, exclude=["config"])
        values["target"] = obj.target  # an address or a host: the secret parts stay out
        return values

    @admin.action(description="Send a test message")
    def send_test(self, request, queryset):
        from ..tasks import send_alert

        for channel in queryset:
            alert = alerts.test_alert(channel, Actor.of(request.user).name)
            # robust: with the broker down, the periodic sender still finds the alert.
            transaction.on_commit(lambda pk=alert.pk: send_alert.delay(pk), robust=True)
        messages.success(
            request, f"Test messages queued for {queryset.count()} channel(s): see Notifications."
        )

    @admin.action(description="Enable again (after fixing what disabled it)")
    def enable(self, request, queryset):
        for channel in queryset:
            before = self.audit_snapshot(channel)
            channel.enabled, channel.disabled_reason = True, ""
            channel.save(update_fields=["enabled", "disabled_reason"])
            was, now = audit.changed(before, self.audit_snapshot(channel))
            audit.record(Actor.of(request.user), "change", channel, before=was, after=now)


@admin.register(AlertRule)
class AlertRuleAdmin(AuditedAdmin):
    list_display = [
        "name",
        "kind",
        "enabled",
        "flow",
        "team",
        "min_amount",
        "threshold",
        "remind_every",
    ]
    list_editable = ["enabled"]
    list_filter = ["kind", "enabled"]
    filter_horizontal = ["channels"]


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(AuditedAdmin):
    list_display = ["flow", "starts_at", "ends_at", "reason"]
    list_filter = ["flow"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "subject",
        "channel",
        "outcome",
        "attempts",
        "processed_at",
    ]
    list_filter = ["kind", "outcome"]
    search_fields = ["subject", "dedup_key"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["at", "channel", "alert", "ok", "permanent", "detail"]
    list_filter = ["ok", "permanent"]
