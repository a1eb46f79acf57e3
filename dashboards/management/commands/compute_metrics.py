from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from tracking.sweep import sweep

from ...refresh import refresh
from ...risk import snapshot

# The periodic jobs this command runs itself, with a fuller report than their tasks give.
RUN_HERE = ("sweep-stuck", "refresh-rollups", "snapshot-risk")


class Command(BaseCommand):
    help = (
        "Run every periodic job of the worker once, now: the stuck sweep, the rollups, the "
        "contracts' reconciliation, the revenue-at-risk snapshot, then the jobs of the apps "
        "above (exception intake and housekeeping, alerts, metric rules, the daily digest)."
    )

    def handle(self, *args, **options):
        marked = sweep().marked
        self.stdout.write(f"stuck sweep: {marked} transactions marked stuck")
        result = refresh(
            progress=lambda r: self.stdout.write(f"  rollups: {r.transactions} transactions...")
        )
        if result.skipped:
            self.stdout.write("rollups: another worker is refreshing or folding them; left to it")
        self.stdout.write(
            f"rollups: {result.transactions} transactions read, {result.changed} changed, "
            f"{result.buckets} buckets recomputed, {result.folded} pending differences "
            "added to the rollups"
        )
        self.stdout.write(
            f"reconciliation: {result.contracts} contracts reconciled, "
            f"{result.breaks_opened} breaks opened, {result.breaks_cleared} cleared"
        )
        rows = snapshot()
        self.stdout.write(f"revenue at risk: snapshot of {rows} rows")
        # The other jobs by their task's name, as beat runs them: this app sits below the
        # ones that define them, so it names them instead of importing them.
        for name, (task, _) in settings.PERIODIC_JOBS.items():
            if name in RUN_HERE:
                continue
            report = import_string(task)()
            self.stdout.write(f"{name}: {_describe(report)}")


def _describe(report: object) -> str:
    if isinstance(report, dict):
        return ", ".join(f"{count} {what}" for what, count in report.items()) or "done"
    return "done" if report is None else str(report)
