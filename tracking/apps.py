from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        # The ledger's modules declare their staging tables as they are imported.
        from . import batch_sql, feed, journeys, keys, ledger, outbox, telemetry  # noqa: F401
        from .api import schema  # noqa: F401 - registers the OpenAPI auth extension
        from .ingest import spans  # noqa: F401 - declares its staging table

        journeys.connect_cache_invalidation()
        keys.connect_cache_invalidation()
        connection_created.connect(batch_sql.create_staging_tables, dispatch_uid="c2c-staging")
        post_migrate.connect(self._staging_after_migrate, sender=self, dispatch_uid="c2c-staging")
        telemetry.instrument()

    @staticmethod
    def _staging_after_migrate(using: str = "default", **_: object) -> None:
        from django.db import connections

        from . import batch_sql

        batch_sql.create_staging_tables(None, connections[using])
