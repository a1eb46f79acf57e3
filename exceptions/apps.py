from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    label = "c2c_exceptions"
    verbose_name = "Exceptions"

    def ready(self) -> None:
        from dashboards import extensions
        from tracking.api.serializers import DETAIL_SECTIONS

        from . import panels
        from .api import sections

        DETAIL_SECTIONS.update(
            exceptions=sections.cases, replays=sections.replays, audit=sections.audit
        )
        # The queue's parts of the dashboards' pages; registered once (ready() may run
        # again in tests that reload apps).
        for places, item in (
            (extensions.FLOW_COUNTERS, panels.OPEN_CASES),
            (extensions.TRANSACTION_PANELS, panels.TRANSACTION),
            (extensions.OVERVIEW_PANELS, panels.DIGEST_FORM),
        ):
            if item not in places:
                places.append(item)
