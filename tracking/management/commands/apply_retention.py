from django.core.management.base import BaseCommand

from tracking import retention


def _rows(estimate: int | None) -> str:
    return "rows not estimated yet (never analysed)" if estimate is None else f"~{estimate:,} rows"


class Command(BaseCommand):
    help = (
        "Delete spans older than SPAN_RETENTION_DAYS (PostgreSQL: drops whole partitions) "
        "and, if EVENT_RETENTION_DAYS is set, the events of transactions over and quiet "
        "for longer. Never touches transactions, cases or the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--span-days", type=int, help="default: SPAN_RETENTION_DAYS")
        parser.add_argument("--event-days", type=int, help="default: EVENT_RETENTION_DAYS")
        parser.add_argument("--dry-run", action="store_true", help="only say what would go")

    def handle(self, *args, **options):
        result = retention.apply(
            span_days=options["span_days"],
            event_days=options["event_days"],
            dry_run=options["dry_run"],
        )
        verb = "would drop" if options["dry_run"] else "dropped"
        if result.span_cutoff is None:
            self.stdout.write("spans: kept (retention 0 days)")
        else:
            self.stdout.write(
                f"spans: keeping those that started from {result.span_cutoff:%Y-%m-%d %H:%M} UTC"
            )
            for p in result.dropped:
                self.stdout.write(
                    f"  {verb} partition {p.name} ({_rows(p.rows_estimate)}, "
                    f"{p.bytes / 1024 / 1024:.1f} MB)"
                )
            if result.partitioned and not result.dropped:
                self.stdout.write("  no partition is wholly older")
            if not options["dry_run"]:
                self.stdout.write(
                    f"  deleted {result.spans_deleted:,} spans in batches "
                    "(the default partition, or SQLite's plain table)"
                )
        if result.event_cutoff is None:
            self.stdout.write("events: kept (EVENT_RETENTION_DAYS 0)")
        elif options["dry_run"]:
            self.stdout.write("events: a dry run counts none")
        else:
            self.stdout.write(
                f"events: deleted {result.events_deleted:,} of transactions over and quiet "
                f"since before {result.event_cutoff:%Y-%m-%d %H:%M} UTC"
            )
