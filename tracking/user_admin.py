"""People and their roles in the admin, audited: who gave whom which role, and when a
password was set or changed (never the password)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from audit import log as audit
from audit.admin import AuditedAdmin

from .roles import user_state

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    audit_secrets = ("password",)

    def audit_snapshot(self, obj) -> dict:
        return {
            "username": obj.get_username(),
            "first_name": obj.first_name,
            "last_name": obj.last_name,
            **user_state(obj),
            "groups": sorted(obj.groups.values_list("name", flat=True)),
            "password": obj.password,  # its hash: enough to tell "changed", never shown
        }

    def user_change_password(self, request, id, form_url=""):
        # Django's own password page saves outside save_model: compare the hash around it.
        before = User.objects.filter(pk=id).values_list("password", flat=True).first()
        response = super().user_change_password(request, id, form_url)
        user = User.objects.filter(pk=id).first()
        if user is not None and before is not None and user.password != before:
            audit.record(
                audit.person(request.user), "change", user,
                before={"password": "set" if before else ""}, after={"password": "changed"},
            )  # fmt: skip
        return response
