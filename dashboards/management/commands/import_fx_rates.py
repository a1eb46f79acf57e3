import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit import log as audit

from ...fx import BadRates, import_csv


class Command(BaseCommand):
    help = (
        "Load daily FX rates from a CSV file with the header date,currency,rate: units of the "
        "reporting currency for one unit of currency. All rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, or - for standard input")

    def handle(self, *args, **options):
        path = options["path"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            result = import_csv(text, audit.command(), source=path)
        except BadRates as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"FX rates: {result.created} added, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
        self.stdout.write("Run `manage.py rebuild_rollups` for past figures to use them.")
