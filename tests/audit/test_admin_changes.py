"""Each kind of setting changed through the admin leaves exactly one audit entry, with who
did it and what each changed field was and became; secrets read "set" or "changed"."""

from datetime import timedelta

import orjson
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from dashboards.models import BusinessCalendar, FxRate, SlaPolicy
from tracking.models import DeadLetter, FlowAPIKey, Journey

from .admin_forms import form_data

pytestmark = pytest.mark.django_db
SECRET = "replay-secret-never-in-the-log-42"


@pytest.fixture
def client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def only_entry(**lookup) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(**lookup).exclude(action__startswith="sign_"))
    assert len(entries) == 1, [(e.action, e.object_type, e.before, e.after) for e in entries]
    return entries[0]


def test_an_sla_policy_target_change(client, admin_user):
    policy = SlaPolicy.objects.get(slug="billing-latency")
    url = f"/admin/dashboards/slapolicy/{policy.pk}/change/"
    response = client.post(url, form_data(client, url, target="3 00:00:00", objective="0.98"))
    assert response.status_code == 302
    entry = only_entry(object_type="sla_policy")
    assert (entry.actor_name, entry.actor_id) == ("ada-admin", admin_user.pk)
    assert entry.action == "change"
    assert entry.object_id == str(policy.pk)
    assert entry.before == {"target": "2 days, 0:00:00", "objective": "0.9900"}
    assert entry.after == {"target": "3 days, 0:00:00", "objective": "0.98"}


def test_saving_a_policy_unchanged_writes_nothing(client):
    policy = SlaPolicy.objects.get(slug="billing-latency")
    url = f"/admin/dashboards/slapolicy/{policy.pk}/change/"
    assert client.post(url, form_data(client, url)).status_code == 302
    assert not AuditEntry.objects.filter(object_type="sla_policy").exists()


def test_a_calendar_and_its_holidays_are_one_entry(client):
    calendar = BusinessCalendar.objects.get(region="")
    url = f"/admin/dashboards/businesscalendar/{calendar.pk}/change/"
    data = form_data(client, url, close_business_day="5")
    data.update({"holidays-0-date": "2027-12-25", "holidays-0-name": "Christmas"})
    assert client.post(url, data).status_code == 302
    entry = only_entry(object_type="calendar")
    assert entry.before == {"close_business_day": 3, "holidays": []}
    assert entry.after == {"close_business_day": 5, "holidays": ["2027-12-25 Christmas"]}


def test_an_fx_rate_added_then_deleted(client):
    response = client.post(
        "/admin/dashboards/fxrate/add/", {"date": "2026-11-30", "currency": "EUR", "rate": "1.08"}
    )
    assert response.status_code == 302
    rate = FxRate.objects.get()
    created = only_entry(object_type="fx_rate", action="create")
    assert created.after == {"date": "2026-11-30", "currency": "EUR", "rate": "1.08"}
    client.post(f"/admin/dashboards/fxrate/{rate.pk}/delete/", {"post": "yes"})
    deleted = only_entry(object_type="fx_rate", action="delete")
    assert deleted.before["rate"] == "1.0800000000" and deleted.object_id == str(rate.pk)


def test_a_flow_replay_secret_is_changed_without_its_value(client, flow):
    url = f"/admin/tracking/flow/{flow.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="new_replay_secret"' in page
    team = flow.owner_team
    data = form_data(client, url, owner_team="billing-ops", new_replay_secret=SECRET)
    assert client.post(url, data).status_code == 302
    flow.refresh_from_db()
    assert flow.replay_secret == SECRET and flow.owner_team == "billing-ops"
    entry = only_entry(object_type="flow")
    assert entry.before == {"owner_team": team, "replay_secret": ""}
    assert entry.after == {"owner_team": "billing-ops", "replay_secret": "changed"}
    assert SECRET not in orjson.dumps([entry.before, entry.after]).decode()
    # Blank keeps the secret: nothing changed, nothing logged, the page never shows it.
    assert SECRET not in client.get(url).content.decode()
    assert client.post(url, form_data(client, url)).status_code == 302
    flow.refresh_from_db()
    assert flow.replay_secret == SECRET
    assert AuditEntry.objects.filter(object_type="flow").count() == 1


def test_an_api_key_made_in_the_admin_is_named_by_its_prefix(client, flow):
    response = client.post(
        "/admin/tracking/flowapikey/add/",
        {"name": "erp sync", "flow": flow.pk, "scopes": '["ingest"]', "expiry_date_0": "",
         "expiry_date_1": ""},
    )  # fmt: skip
    assert response.status_code == 302
    key = FlowAPIKey.objects.get(name="erp sync")
    entry = only_entry(object_type="api_key")
    assert entry.object_id == key.prefix
    assert entry.after["prefix"] == key.prefix and entry.after["scopes"] == ["ingest"]
    assert key.hashed_key not in orjson.dumps([entry.object_id, entry.after]).decode()


def test_a_journey_with_a_stage_added(client):
    journey = Journey.objects.get(slug="payment_sync")
    url = f"/admin/tracking/journey/{journey.pk}/change/"
    data = form_data(client, url)
    count = int(data["stages-TOTAL_FORMS"])
    data.update({
        "stages-TOTAL_FORMS": str(count + 1),
        f"stages-{count}-position": "99", f"stages-{count}-slug": "cash_applied",
        f"stages-{count}-name": "Cash applied", f"stages-{count}-expected_duration": "",
        f"stages-{count}-journey": str(journey.pk),
    })  # fmt: skip
    assert client.post(url, data).status_code == 302
    entry = only_entry(object_type="journey")
    assert entry.after["stages"][-1] == "99. cash_applied"
    assert len(entry.after["stages"]) == len(entry.before["stages"]) + 1


def test_a_role_change_and_a_password_reset(client, viewer):
    url = f"/admin/auth/user/{viewer.pk}/change/"
    operator_group = client.get(url).context["adminform"].form.fields["groups"].queryset
    operator_id = operator_group.get(name="operator").pk
    assert client.post(url, form_data(client, url, groups=[str(operator_id)])).status_code == 302
    entry = only_entry(object_type="user", action="change")
    assert entry.object_id == str(viewer.pk)
    assert entry.before == {"role": "viewer", "groups": ["viewer"]}
    assert entry.after == {"role": "operator", "groups": ["operator"]}

    response = client.post(
        f"/admin/auth/user/{viewer.pk}/password/",
        {"password1": "a-new-long-passphrase-7", "password2": "a-new-long-passphrase-7",
         "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 302
    reset = AuditEntry.objects.filter(object_type="user").order_by("-id").first()
    assert (reset.before, reset.after) == ({"password": "set"}, {"password": "changed"})
    assert AuditEntry.objects.filter(object_type="user", action="change").count() == 2
    assert "a-new-long-passphrase-7" not in str(reset.after)


def test_a_person_added_in_the_admin(client):
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "nina-new", "password1": "a-new-long-passphrase-7",
         "password2": "a-new-long-passphrase-7", "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 302
    entry = only_entry(object_type="user", action="create")
    assert entry.object_id == str(User.objects.get(username="nina-new").pk)
    assert entry.after["username"] == "nina-new" and entry.after["password"] == "set"


def test_dead_letters_reprocessed_from_the_admin_are_one_entry(client, flow):
    letters = [
        DeadLetter.objects.create(
            flow=flow, event_id=f"e-{n}", correlation_id=f"INV-{n}", reason="unknown stage",
            received_at=timezone.now(),
            payload={"event_id": f"e-{n}", "correlation_id": f"INV-{n}", "journey": "nope",
                     "stage": "nope", "status": "succeeded", "occurred_at": "2026-11-02T10:00:00Z"},
        )
        for n in range(3)
    ]  # fmt: skip
    response = client.post(
        "/admin/tracking/deadletter/",
        {"action": "reprocess_selected", "_selected_action": [d.pk for d in letters]},
    )
    assert response.status_code == 302
    entry = only_entry(object_type="dead_letters")
    assert entry.action == "reprocess" and entry.actor_name == "ada-admin"
    assert entry.after["letters"] == 3
    assert entry.after["recorded"] + entry.after["still_waiting"] + entry.after["failed"] == 3


def test_a_maintenance_window_moved(client, flow):
    start = timezone.localtime(timezone.now()).replace(microsecond=0, second=0)
    end = start + timedelta(hours=2)
    form = {
        "flow": flow.pk, "reason": "ERP upgrade",
        "starts_at_0": start.date().isoformat(), "starts_at_1": start.time().isoformat(),
        "ends_at_0": end.date().isoformat(), "ends_at_1": end.time().isoformat(),
    }  # fmt: skip
    assert client.post("/admin/c2c_exceptions/maintenancewindow/add/", form).status_code == 302
    window = AuditEntry.objects.get(object_type="maintenance_window", action="create")
    assert window.after["flow"] == flow.slug and window.after["reason"] == "ERP upgrade"
    url = f"/admin/c2c_exceptions/maintenancewindow/{window.object_id}/change/"
    assert client.post(url, form_data(client, url, reason="ERP upgrade, day 2")).status_code == 302
    moved = only_entry(object_type="maintenance_window", action="change")
    assert (moved.before, moved.after) == (
        {"reason": "ERP upgrade"}, {"reason": "ERP upgrade, day 2"},
    )  # fmt: skip
