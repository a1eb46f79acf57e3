from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKeyModelAdmin

from c2c_ops.admin_csv import CsvExportMixin

from . import reprocess
from .models import DeadLetter, Flow, FlowAPIKey, Journey, Stage, Transaction


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "source_system", "target_system", "owner_team"]
    search_fields = ["slug", "name", "owner_team"]
    exclude = ["replay_secret"]  # set with `manage.py set_flow --replay-secret`; never shown


@admin.register(FlowAPIKey)
class FlowAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "flow", "scopes"]
    list_filter = ["flow", "revoked"]


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["position", "slug", "name", "expected_duration"]


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name"]
    inlines = [StageInline]


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
class DeadLetterAdmin(CsvExportMixin, admin.ModelAdmin):
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
        report = reprocess.reprocess(queryset.filter(resolved_at__isnull=True))
        self.message_user(request, report.summary(), messages.INFO)
