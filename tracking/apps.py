from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from . import journeys, telemetry

        journeys.connect_cache_invalidation()
        telemetry.instrument()
