"""Admin: ownership rules and teams are configured here (and audited); cases, replays and
the audit log are shown read-only, since people change those through the queue."""

from django.contrib import admin
from django.forms.models import model_to_dict

from . import audit
from .actors import Actor
from .models import AuditEntry, ExceptionCase, OwnershipRule, Replay, TeamMember


class AuditedAdmin(admin.ModelAdmin):
    def snapshot(self, obj) -> dict:
        """What the audit entry records of ``obj``; override to keep secrets out."""
        return model_to_dict(obj)

    def save_model(self, request, obj, form, change):
        before = self.snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        audit.record(
            Actor.of(request.user),
            "rule_change" if change else "rule_create",
            obj,
            before=before,
            after=self.snapshot(obj),
        )

    def delete_model(self, request, obj):
        audit.record(Actor.of(request.user), "rule_delete", obj, before=self.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class ReplayAdmin(ReadOnlyAdmin):
    list_display = ["id", "correlation_id", "stage", "status", "requested_by_name", "requested_at"]
    list_filter = ["status"]
    search_fields = ["correlation_id"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "correlation_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["correlation_id", "actor_name"]


# Alert channels, rules and maintenance windows: registered from their own module.
from . import alert_admin  # noqa: E402, F401
