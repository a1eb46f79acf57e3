"""Admin: ownership rules and teams are configured here (and audited); cases, replays and
the audit log are shown read-only, since people change those through the queue. Replays,
which have no page of their own, export as CSV from here."""

from django.contrib import admin

from c2c_ops.admin_csv import CsvExportMixin

from ..models import ExceptionCase, OwnershipRule, Replay, TeamMember
from .base import AuditedAdmin, ReadOnlyAdmin


@admin.register(OwnershipRule)
class OwnershipRuleAdmin(AuditedAdmin):
    list_display = [
        "position",
        "name",
        "enabled",
        "team",
        "owner",
        "flow",
        "stage",
        "region",
        "error_code",
        "min_amount",
    ]
    list_editable = ["enabled"]
    list_filter = ["enabled", "team"]


@admin.register(TeamMember)
class TeamMemberAdmin(AuditedAdmin):
    list_display = ["team", "user"]
    list_filter = ["team"]


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "correlation_id",
        "stage",
        "kind",
        "status",
        "owner",
        "team",
        "amount",
        "opened_at",
    ]
    list_filter = ["status", "kind", "team"]
    search_fields = ["correlation_id"]


@admin.register(Replay)
class ReplayAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ["id", "correlation_id", "stage", "status", "requested_by_name", "requested_at"]
    list_filter = ["status"]
    search_fields = ["correlation_id"]
    csv_name = "replays"
    csv_fields = (
        "id", "case_id", "correlation_id", "transaction_id", "stage__slug", "flow__slug",
        "status", "amount", "reason", "replay_of_event_id", "requested_by_name",
        "requested_at", "decided_by_name", "decided_at", "attempts", "dispatched_at",
        "sent_at", "response_status", "last_error", "finished_at", "result_event_id",
    )  # fmt: skip
