"""Admin pages that write the audit log: one entry per save or delete, with the fields that
changed (related rows of inlines and many-to-many included), secrets never shown."""

from django.contrib import admin

from . import log
from .models import AuditEntry


class AuditedAdmin(admin.ModelAdmin):
    """Record every add, change and delete made through this admin page.

    ``audit_secrets`` name fields whose value never reaches the log ("set" or "changed").
    Override ``audit_snapshot`` to add related rows (a calendar's holidays, a journey's
    stages): the entry is written after inlines and many-to-many are saved.
    """

    audit_secrets: tuple[str, ...] = ()
    audit_exclude: tuple[str, ...] = ()

    def audit_snapshot(self, obj) -> dict:
        return log.snapshot(obj, self.audit_exclude)

    def save_model(self, request, obj, form, change):
        if change:
            request._audit_before = self.audit_snapshot(type(obj).objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        after = self.audit_snapshot(obj)
        if change:
            before, after = log.changed(request._audit_before, after, self.audit_secrets)
            if not before and not after:
                return  # saved unchanged: nothing happened worth a line
            log.record(log.person(request.user), "change", obj, before=before, after=after)
        else:
            after = log.hidden(after, self.audit_secrets)
            log.record(log.person(request.user), "create", obj, after=after)

    def delete_model(self, request, obj):
        before = log.hidden(self.audit_snapshot(obj), self.audit_secrets)
        log.record(log.person(request.user), "delete", obj, before=before)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "reason"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_id", "correlation_id"]
    date_hierarchy = "at"
