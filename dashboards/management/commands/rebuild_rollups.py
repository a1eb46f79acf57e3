from django.core.management.base import BaseCommand

from tracking.models import Transaction

from ...rebuild import rebuild
from ...risk import snapshot


class Command(BaseCommand):
    help = (
        "Recompute every fact and rollup from the ledger: after a backfill, or after editing "
        "SLA policies, calendars or FX rates. Safe to run again if interrupted."
    )

    def handle(self, *args, **options):
        total = Transaction.objects.count()
        self.stdout.write(f"rebuilding the metrics of {total} transactions")

        def progress(result):
            share = result.transactions / total if total else 1
            self.stdout.write(f"  {result.transactions}/{total} transactions ({share:.0%})")

        result = rebuild(progress=progress)
        snapshot()
        self.stdout.write(
            self.style.SUCCESS(
                f"done: {result.transactions} transactions, {result.buckets} 5-minute buckets"
            )
        )
