from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit import log as audit
from tracking.roles import ROLES, grant, user_state


class Command(BaseCommand):
    help = "Create a user with a role (viewer, operator or admin), or change an existing one's."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        User = get_user_model()
        username, role = options["username"].strip(), options["role"]
        if not username:
            raise CommandError("username is required")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            before = {} if created else {**user_state(user), "password": user.password}
            try:
                password_validation.validate_password(options["password"], user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(options["password"])
            if options["email"]:
                user.email = options["email"]
            user.save()
            grant(user, role)
            # The password's hash stands in for it, so the log can say "changed", never what.
            after = {**user_state(user), "password": user.password}
            if created:
                audit.record(
                    audit.command(), "create", user, after=audit.hidden(after, ["password"])
                )
            else:
                was, now = audit.changed(before, after, ["password"])
                audit.record(audit.command(), "change", user, before=was, after=now)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} user {username} with role {role}")
