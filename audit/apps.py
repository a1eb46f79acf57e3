from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from . import lockouts, sign_ins  # noqa: F401 - connect the sign-in receivers
