"""The two kinds of admin page of the exception queue: configuration, audited on every
change, and records people change through the queue, shown read-only."""

from django.contrib import admin
from django.forms.models import model_to_dict

from .. import audit
from ..actors import Actor


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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
