from django.core.management.base import BaseCommand

from audit import log as audit
from tracking.models import DeadLetter
from tracking.reprocess import reprocess


class Command(BaseCommand):
    help = "Re-process waiting dead letters (after adding the journey or stage they named)."

    def add_arguments(self, parser):
        parser.add_argument("--flow", help="only letters of this flow")

    def handle(self, *args, **options):
        letters = DeadLetter.objects.filter(resolved_at__isnull=True)
        if options["flow"]:
            letters = letters.filter(flow__slug=options["flow"])
        total = letters.count()
        self.stdout.write(f"Re-processing {total} waiting letter(s)...")
        report = reprocess(letters, who=audit.command())
        self.stdout.write(report.summary())
