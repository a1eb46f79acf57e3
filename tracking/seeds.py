"""The journeys of DESIGN.md and the role groups, as seeded by migration 0002.

Other tools and tests rely on these slugs; durations stay editable in the admin afterwards.
Written against model classes passed in, so the migration can hand over its historical ones.
"""

from datetime import timedelta

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


def seed(Journey, Stage, Group) -> None:
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
