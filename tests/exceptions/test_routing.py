"""New cases go to the first matching ownership rule, else the flow's owner team."""

from decimal import Decimal

import pytest
from django.test import override_settings

from audit.models import AuditEntry
from exceptions.models import OwnershipRule
from tracking.models import Journey

from .helpers import failed_case

pytestmark = pytest.mark.django_db


def test_the_first_matching_rule_wins(ingest_client, flow, operator):
    OwnershipRule.objects.create(position=1, name="EMEA ERP", region="EMEA", team="erp-emea")
    OwnershipRule.objects.create(
        position=2, name="big ones", min_amount=Decimal("1000"), team="key-accounts", owner=operator
    )
    big = failed_case(ingest_client, "SOW-1", amount="5000.00")
    emea = failed_case(ingest_client, "SOW-2", amount="5000.00", region="EMEA")

    assert (big.team, big.owner) == ("key-accounts", operator)
    assert (emea.team, emea.owner) == ("erp-emea", None)
    route = AuditEntry.objects.get(case_id=big.pk, action="route")
    assert route.actor_name == f"rule:{OwnershipRule.objects.get(team='key-accounts').pk}"
    assert route.after == {"team": "key-accounts", "owner": "omar-operator"}


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ({"stage": "invoice_generated"}, True),
        ({"stage": "invoice_posted"}, False),
        ({"error_code": "ERP-500"}, True),
        ({"error_code": "ERP-404"}, False),
        ({"business_unit": "Consulting"}, False),
        ({"min_amount": Decimal("1200.00")}, True),
        ({"min_amount": Decimal("1200.01")}, False),
    ],
)
def test_each_condition(ingest_client, flow, condition, matches):
    OwnershipRule.objects.create(name="r", team="special", **condition)
    case = failed_case(ingest_client, "SOW-1", amount="1200.00")
    assert (case.team == "special") is matches


def test_journey_and_flow_conditions(ingest_client, flow, other_flow):
    billing = Journey.objects.get(slug="billing")
    OwnershipRule.objects.create(name="other flow", flow=other_flow, team="nope")
    OwnershipRule.objects.create(name="billing", journey=billing, flow=flow, team="yes")
    assert failed_case(ingest_client, "SOW-1").team == "yes"


def test_disabled_rules_are_skipped(ingest_client, flow):
    OwnershipRule.objects.create(name="off", team="nope", enabled=False)
    assert failed_case(ingest_client, "SOW-1").team == "billing"


@override_settings(EXCEPTIONS_DEFAULT_TEAM="night-shift")
def test_a_flow_without_an_owner_team_goes_to_the_default_team(ingest_client, flow):
    flow.owner_team = ""
    flow.save()
    assert failed_case(ingest_client, "SOW-1").team == "night-shift"


def test_rule_edits_in_the_admin_are_audited(admin_user):
    from django.test import Client

    # As `manage.py create_user --role admin` makes them: admins get the Django admin.
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/c2c_exceptions/ownershiprule/add/",
        {"position": 5, "name": "EMEA", "enabled": "on", "region": "EMEA", "team": "erp-emea"},
    )
    assert response.status_code == 302, response.content
    rule = OwnershipRule.objects.get()
    entry = AuditEntry.objects.get(action="create")
    assert (entry.actor_name, entry.object_type, entry.object_id) == (
        "ada-admin",
        "rule",
        str(rule.pk),
    )
    assert entry.after["team"] == "erp-emea"
