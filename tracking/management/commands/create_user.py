from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracking.roles import ROLES


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
            try:
                password_validation.validate_password(options["password"], user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(options["password"])
            if options["email"]:
                user.email = options["email"]
            # Admins also get the Django admin, where journeys, flows and keys are edited.
            user.is_staff = user.is_superuser = role == "admin"
            user.save()
            user.groups.remove(*Group.objects.filter(name__in=ROLES))
            user.groups.add(Group.objects.get(name=role))
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} user {username} with role {role}")
