"""Seed the four journeys of DESIGN.md and the three role groups.

Other tools and tests use these slugs; durations stay editable in the admin afterwards.
"""

from datetime import timedelta

from django.db import migrations

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

JOURNEYS = {
    "contract_activation": (
        "Contract activation",
        [
            ("contract_approved", "Contract approved", HOUR),
            ("customer_synced", "Customer synced", 4 * HOUR),
            ("project_activated", "Project activated", DAY),
            ("billing_rules_published", "Billing rules published", None),
        ],
    ),
    "amendment": (
        "Contract amendment",
        [
            ("amendment_approved", "Amendment approved", 4 * HOUR),
            ("billing_rules_updated", "Billing rules updated", DAY),
            ("erp_updated", "ERP updated", None),
        ],
    ),
    "billing": (
        "Billing",
        [
            ("work_approved", "Work approved", 2 * DAY),
            ("invoice_generated", "Invoice generated", 4 * HOUR),
            ("invoice_posted", "Invoice posted", 45 * DAY),
            ("payment_received", "Payment received", None),
        ],
    ),
    "payment_sync": (
        "Payment sync",
        [
            ("payment_received", "Payment received", HOUR),
            ("payment_applied", "Payment applied", 4 * HOUR),
            ("billing_status_updated", "Billing status updated", None),
        ],
    ),
}
ROLES = ("viewer", "operator", "admin")


def seed(apps, schema_editor):
    Journey = apps.get_model("tracking", "Journey")
    Stage = apps.get_model("tracking", "Stage")
    Group = apps.get_model("auth", "Group")
    for slug, (name, stages) in JOURNEYS.items():
        journey, _ = Journey.objects.get_or_create(slug=slug, defaults={"name": name})
        for position, (stage_slug, stage_name, duration) in enumerate(stages):
            Stage.objects.get_or_create(
                journey=journey,
                slug=stage_slug,
                defaults={"name": stage_name, "position": position, "expected_duration": duration},
            )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def unseed(apps, schema_editor):
    apps.get_model("tracking", "Journey").objects.filter(slug__in=JOURNEYS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
