"""Default SLA policies and calendar, seeded by migration 0002 (admin-editable after).

Written against model classes passed in, so the migration can hand over its historical ones.
"""

from datetime import timedelta

DAY = timedelta(days=1)

# slug: (name, journey, from stage, to stage, kind, target, business time, objective, leakage)
POLICIES = {
    "contract-activation": (
        "Contract approved to billing rules published within 2 business days",
        "contract_activation",
        "contract_approved",
        "billing_rules_published",
        "duration",
        2 * DAY,
        True,
        "0.95",
        False,
    ),
    "amendment-to-erp": (
        "Amendment approved to ERP updated within 2 business days",
        "amendment",
        "amendment_approved",
        "erp_updated",
        "duration",
        2 * DAY,
        True,
        "0.95",
        False,
    ),
    "billing-latency": (
        "Billing latency: work approved to invoice posted within 2 business days",
        "billing",
        "work_approved",
        "invoice_posted",
        "duration",
        2 * DAY,
        True,
        "0.99",
        False,
    ),
    "month-end-cutoff": (
        "Work approved in a month is invoiced before that month's close",
        "billing",
        "work_approved",
        "invoice_generated",
        "month_close",
        None,
        True,
        "0.99",
        True,
    ),
    "payment-application": (
        "Payment received to billing status updated within a day",
        "payment_sync",
        "payment_received",
        "billing_status_updated",
        "duration",
        DAY,
        False,
        "0.99",
        False,
    ),
}


def seed(BusinessCalendar, SlaPolicy, Journey, Stage) -> None:
    BusinessCalendar.objects.get_or_create(
        region="", defaults={"name": "Default: Monday to Friday, UTC"}
    )
    for slug, (
        name,
        journey,
        start,
        end,
        kind,
        target,
        business,
        objective,
        leak,
    ) in POLICIES.items():
        found = Journey.objects.filter(slug=journey).first()
        if found is None:
            continue
        stages = {s.slug: s for s in Stage.objects.filter(journey=found)}
        if start not in stages or end not in stages:
            continue
        SlaPolicy.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "journey": found,
                "from_stage": stages[start],
                "to_stage": stages[end],
                "kind": kind,
                "target": target,
                "business_time": business,
                "objective": objective,
                "leakage": leak,
            },
        )
