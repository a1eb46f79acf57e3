from django.core.management.base import BaseCommand

from tracking.sweep import sweep

from ...refresh import refresh
from ...risk import snapshot


class Command(BaseCommand):
    help = (
        "Run the stuck sweep, the rollups, the contracts' reconciliation and the "
        "revenue-at-risk snapshot once, now."
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
