from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "c2c_exceptions"
    verbose_name = "Exceptions"

    def ready(self) -> None:
        from tracking.api.serializers import DETAIL_SECTIONS

        from .api import sections

        DETAIL_SECTIONS.update(
            exceptions=sections.cases, replays=sections.replays, audit=sections.audit
        )
