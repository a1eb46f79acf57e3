from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit import log as audit
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
        before = {} if created else _state(flow)
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
        with transaction.atomic():
            flow.save()
            _audit(flow, created, before)
        shown = ", ".join(c if c != "replay_secret" else "replay_secret (hidden)" for c in changed)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} flow {slug}" + (f": {shown}" if shown else ""))


def _state(flow: Flow) -> dict:
    return {**audit.snapshot(flow), "replay_secret": flow.replay_secret}


def _audit(flow: Flow, created: bool, before: dict) -> None:
    if created:
        after = audit.hidden(_state(flow), ["replay_secret"])
        audit.record(audit.command(), "create", flow, after=after)
        return
    was, now = audit.changed(before, _state(flow), ["replay_secret"])
    if was or now:  # setting a field to the value it had changes nothing
        audit.record(audit.command(), "change", flow, before=was, after=now)
