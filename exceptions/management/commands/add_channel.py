import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit import log as audit
from exceptions.actors import Actor
from exceptions.models import Channel
from exceptions.transports import KINDS


class Command(BaseCommand):
    help = (
        "Add an alert channel (email address, Slack incoming webhook or signed webhook) for a team."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("target", help="the email address, or the webhook URL")
        parser.add_argument("--team", required=True, help="the team whose alerts it receives")
        parser.add_argument("--name", default="", help="a label for people")
        parser.add_argument("--secret", help="webhook only: the HMAC signing secret")

    def handle(self, *args, **options):
        kind, target = options["kind"], options["target"].strip()
        config = {"address": target} if kind == "email" else {"url": target}
        if kind == "webhook":
            if not options["secret"]:
                raise CommandError("A webhook channel needs --secret (16 characters or more).")
            config["secret"] = options["secret"]
        try:
            config = KINDS[kind].clean(config)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        team = options["team"].strip()
        if not team:
            raise CommandError("--team must name a team.")
        channel = Channel.objects.create(kind=kind, team=team, name=options["name"], config=config)
        who = Actor(f"cli:{getpass.getuser()}", None, frozenset())
        audit.record(
            who, "add_channel", channel, after={"kind": kind, "team": team, "to": channel.target}
        )
        self.stdout.write(f"channel {channel.pk}: {kind} to {channel.target} for team {team}")
