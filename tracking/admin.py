from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKeyModelAdmin

from audit import log as audit
from audit.admin import AuditedAdmin
from c2c_ops.admin_csv import CsvExportMixin

from . import (
    reprocess,
    user_admin,  # noqa: F401  (registers the audited admin of people and roles)
)
from .models import DeadLetter, Flow, FlowAPIKey, Journey, Stage, Transaction


def _https_by_default(field, **kwargs):
    # A replay URL typed without a scheme is an https one (Django 6's default, said now).
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class FlowForm(forms.ModelForm):
    # Write-only: the secret is never sent back to a browser. Blank keeps the current one.
    new_replay_secret = forms.CharField(
        label="New replay secret",
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs replay requests (HMAC). Leave blank to keep the current secret.",
    )
    clear_replay_secret = forms.BooleanField(
        label="Remove the replay secret", required=False, help_text="Replays go unsigned."
    )

    class Meta:
        model = Flow
        fields = ["slug", "name", "source_system", "target_system", "owner_team", "replay_url"]
        formfield_callback = staticmethod(_https_by_default)

    def save(self, commit=True):
        if self.cleaned_data.get("new_replay_secret"):
            self.instance.replay_secret = self.cleaned_data["new_replay_secret"]
        elif self.cleaned_data.get("clear_replay_secret"):
            self.instance.replay_secret = ""
        return super().save(commit)


@admin.register(Flow)
class FlowAdmin(AuditedAdmin):
    form = FlowForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["slug", "name", "source_system", "target_system", "owner_team"]
    search_fields = ["slug", "name", "owner_team"]
    audit_secrets = ("replay_secret",)

    def audit_snapshot(self, obj) -> dict:
        # The form leaves the secret out; the log still says when it was set or changed.
        return {**super().audit_snapshot(obj), "replay_secret": obj.replay_secret}


@admin.register(FlowAPIKey)
class FlowAPIKeyAdmin(AuditedAdmin, APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "flow", "scopes"]
    list_filter = ["flow", "revoked"]

    def audit_snapshot(self, obj) -> dict:
        # The prefix names the key; the hash (in its primary key) is never written.
        return {"prefix": obj.prefix, **super().audit_snapshot(obj)}


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["position", "slug", "name", "expected_duration"]


@admin.register(Journey)
class JourneyAdmin(AuditedAdmin):
    list_display = ["slug", "name"]
    inlines = [StageInline]

    def audit_snapshot(self, obj) -> dict:
        # Stages are edited on the journey's page: one entry says what the journey became.
        stages = obj.stages.order_by("position").values_list(
            "position", "slug", "expected_duration"
        )
        return {
            **super().audit_snapshot(obj),
            "stages": [f"{p}. {slug}" + (f" ({d})" if d else "") for p, slug, d in stages],
        }


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = [
        "correlation_id",
        "journey",
        "current_stage",
        "state__status",
        "amount",
        "currency",
        "last_event_at",
        "next_deadline_at",
    ]
    list_filter = ["state__status", "journey", "region"]
    list_select_related = ["journey", "current_stage", "state"]
    search_fields = ["correlation_id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the ledger changes only through ingest


@admin.register(DeadLetter)
class DeadLetterAdmin(CsvExportMixin, AuditedAdmin):
    list_display = [
        "event_id",
        "correlation_id",
        "flow",
        "reason",
        "received_at",
        "attempts",
        "resolved_at",
    ]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "flow", "source"]
    search_fields = ["event_id", "correlation_id", "reason"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]
    actions = ["reprocess_selected"]
    # Dead letters have no page of their own: this list, and its CSV, is where they are read.
    csv_name = "dead-letters"
    csv_fields = (
        "id", "event_id", "correlation_id", "flow__slug", "source", "reason", "received_at",
        "attempts", "last_attempt_at", "resolved_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Re-process the selected letters")
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        report = reprocess.reprocess(
            queryset.filter(resolved_at__isnull=True), who=audit.person(request.user)
        )
        self.message_user(request, report.summary(), messages.INFO)
