from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _policies_changed(**_: object) -> None:
    from . import freshness

    freshness.bump()  # the summary lists the policies: cached answers must not outlive them


class DashboardsConfig(AppConfig):
    name = "dashboards"

    def ready(self) -> None:
        # Staging tables are made when a database session opens, for the shapes declared
        # by then: declare the rollups' before any session can open.
        from . import refresh, rollups  # noqa: F401
        from .models import SlaPolicy

        for signal in (post_save, post_delete):
            signal.connect(_policies_changed, sender=SlaPolicy, dispatch_uid=f"sla-{signal}")
