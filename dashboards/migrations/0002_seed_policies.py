"""Seed the default calendar and SLA policies (see dashboards/seeds.py)."""

from django.db import migrations

from dashboards.seeds import POLICIES, seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("dashboards", "BusinessCalendar"),
        apps.get_model("dashboards", "SlaPolicy"),
        apps.get_model("tracking", "Journey"),
        apps.get_model("tracking", "Stage"),
    )


def backwards(apps, schema_editor):
    apps.get_model("dashboards", "SlaPolicy").objects.filter(slug__in=POLICIES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("tracking", "0002_seed_journeys_and_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
