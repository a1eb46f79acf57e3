from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tracking.models import Flow


class Command(BaseCommand):
    help = "Create or update a flow."

    def add_arguments(self, parser):
        parser.add_argument("flow", help="flow slug")
        parser.add_argument("--name")
        parser.add_argument("--owner-team")
        parser.add_argument("--source-system")
        parser.add_argument("--target-system")
        parser.add_argument("--replay-url", help="where replay requests are POSTed ('' clears)")
        parser.add_argument("--replay-secret", help="HMAC secret that signs replay requests")

    def handle(self, *args, **options):
        slug = options["flow"].strip()
        flow = Flow.objects.filter(slug=slug).first()
        created = flow is None
        if created:
            flow = Flow(slug=slug, name=slug)
        changed = []
        for option in (
            "name",
            "owner_team",
            "source_system",
            "target_system",
            "replay_url",
            "replay_secret",
        ):
            value = options[option]
            if value is not None:
                setattr(flow, option, value.strip())
                changed.append(option)
        try:
            flow.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from exc
        flow.save()
        shown = ", ".join(c if c != "replay_secret" else "replay_secret (hidden)" for c in changed)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} flow {slug}" + (f": {shown}" if shown else ""))
