from django.core.management.base import BaseCommand, CommandError
from django.core.validators import ValidationError
from django.db import transaction

from audit import log as audit
from tracking.key_lifecycle import KeyRefused, expiry_from
from tracking.models import Flow, FlowAPIKey
from tracking.models.flows import SCOPES, slug_validator


class Command(BaseCommand):
    help = (
        "Create an API key for a flow (creating the flow if needed). The key is shown once, "
        "alone on the last line of output; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("flow", help="flow slug, e.g. clm-to-erp-customer")
        parser.add_argument(
            "--scopes", default="ingest", help=f"comma-separated, of: {', '.join(SCOPES)}"
        )
        parser.add_argument("--name", default="", help="a label to recognise the key by")
        parser.add_argument(
            "--expires", default="", help="days from now (90) or an ISO 8601 moment; none: never"
        )

    def handle(self, *args, **options):
        slug = options["flow"].strip()
        try:
            slug_validator(slug)
        except ValidationError as exc:
            raise CommandError(f"invalid flow slug {slug!r}: {exc.messages[0]}") from exc
        scopes = sorted({s.strip() for s in options["scopes"].split(",") if s.strip()})
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise CommandError(
                f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(SCOPES)}"
            )
        try:
            expiry = expiry_from(options["expires"]) if options["expires"] else None
        except KeyRefused as exc:
            raise CommandError(f"--expires: {exc}") from exc
        with transaction.atomic():
            flow, created = Flow.objects.get_or_create(slug=slug, defaults={"name": slug})
            api_key, key = FlowAPIKey.objects.create_key(
                flow=flow,
                scopes=scopes,
                name=options["name"] or f"{slug} ({','.join(scopes)})",
                expiry_date=expiry,
            )
            who = audit.command()
            if created:
                audit.record(who, "create", flow, after=audit.snapshot(flow))
            # The key itself never reaches the log: its prefix names it.
            audit.record(
                who, "create", api_key,
                after={"prefix": api_key.prefix, **audit.snapshot(api_key)},
            )  # fmt: skip
        if created:
            self.stderr.write(f"Created flow {slug}.")
        self.stderr.write(f"Key for flow {slug} with scopes {','.join(scopes)}:")
        self.stdout.write(key)
