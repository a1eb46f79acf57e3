"""Seed the four journeys of DESIGN.md and the three role groups (see tracking/seeds.py)."""

from django.db import migrations

from tracking.seeds import JOURNEYS, seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("tracking", "Journey"),
        apps.get_model("tracking", "Stage"),
        apps.get_model("auth", "Group"),
    )


def backwards(apps, schema_editor):
    apps.get_model("tracking", "Journey").objects.filter(slug__in=JOURNEYS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
