"""The exceptions API: each action by people and by keys, with the contract's fields."""

import pytest

from audit.models import AuditEntry
from exceptions.models import CaseStatus, Replay
from tests.conftest import key_client, make_key, session_client

from ..receiver import Receiver
from .helpers import failed_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(ingest_client, flow):
    return failed_case(ingest_client, "SOW-1", amount="1200.00")


def test_the_list_shows_the_contract_fields(case, viewer):
    body = session_client(viewer).get("/api/v1/exceptions").json()
    (item,) = body["results"]
    assert {"id", "correlation_id", "stage", "status", "owner", "amount", "replays"} <= set(item)
    assert (item["correlation_id"], item["stage"], item["status"]) == (
        "SOW-1",
        "invoice_generated",
        "open",
    )
    assert (item["owner"], item["amount"], item["replays"]) == (None, "1200.00", [])


@pytest.mark.parametrize(
    ("query", "hits"),
    [
        ("status=open", 1),
        ("status=resolved", 0),
        ("correlation_id=SOW-1", 1),
        ("correlation_id=SOW-2", 0),
        ("flow=psa-to-billing", 1),
        ("flow=billing-to-erp", 0),
        ("team=billing", 1),
        ("team=erp", 0),
        ("owner=omar-operator", 0),
    ],
)
def test_list_filters(case, viewer, query, hits):
    body = session_client(viewer).get(f"/api/v1/exceptions?{query}").json()
    assert len(body["results"]) == hits


def test_assign_acknowledge_snooze_resolve(case, operator):
    client = session_client(operator)
    url = f"/api/v1/exceptions/{case.pk}"

    body = client.post(f"{url}/assign", {"owner": "omar-operator"}, format="json").json()
    assert body["owner"] == "omar-operator"
    assert client.post(f"{url}/acknowledge").json()["status"] == "acknowledged"
    body = client.post(f"{url}/snooze", {"until": "2099-01-01T00:00:00Z"}, format="json")
    assert body.status_code == 400 and "at most 90 days" in body.json()["detail"]
    from datetime import timedelta

    from django.utils import timezone

    until = (timezone.now() + timedelta(hours=4)).isoformat()
    body = client.post(f"{url}/snooze", {"until": until}, format="json").json()
    assert body["status"] == "snoozed" and body["snoozed_until"]
    body = client.post(f"{url}/resolve", {"reason": "posted by hand in the ERP"}, format="json")
    assert body.json()["status"] == "resolved"
    assert body.json()["resolved_by"] == "omar-operator"

    actions = [e["action"] for e in client.get(url).json()["audit"]]
    assert actions == ["open", "route", "assign", "acknowledge", "snooze", "resolve"]


def test_bad_input_is_a_clear_400(case, operator):
    client = session_client(operator)
    url = f"/api/v1/exceptions/{case.pk}"
    assert client.post(f"{url}/resolve", {}, format="json").status_code == 400
    r = client.post(f"{url}/assign", {"owner": "nobody-here"}, format="json")
    assert r.status_code == 400 and "nobody-here" in r.json()["detail"]
    r = client.post(f"{url}/snooze", {"until": "tomorrow"}, format="json")
    assert r.status_code == 400
    assert client.post("/api/v1/exceptions/999999/acknowledge").status_code == 404


def test_a_viewer_cannot_be_made_owner(case, operator, viewer):
    r = session_client(operator).post(
        f"/api/v1/exceptions/{case.pk}/assign", {"owner": viewer.username}, format="json"
    )
    assert r.status_code == 400 and "not an operator" in r.json()["detail"]


def test_acting_on_a_resolved_case_is_a_409(case, operator):
    client = session_client(operator)
    url = f"/api/v1/exceptions/{case.pk}"
    client.post(f"{url}/resolve", {"reason": "done"}, format="json")
    r = client.post(f"{url}/acknowledge")
    assert r.status_code == 409 and "resolved" in r.json()["detail"]


def test_an_operate_key_acts_like_an_operator(case, flow):
    client = key_client(make_key(flow, "operate", "read"))
    r = client.post(f"/api/v1/exceptions/{case.pk}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    entry = AuditEntry.objects.filter(action="acknowledge").get()
    assert entry.actor_name == "flow:psa-to-billing"


def test_replay_through_the_api(case, operator, flow):
    with Receiver("s3cret") as rx:
        flow.replay_url, flow.replay_secret = rx.url, "s3cret"
        flow.save()
        client = session_client(operator)
        r = client.post(f"/api/v1/exceptions/{case.pk}/replay", {}, format="json")
        assert r.status_code == 400  # a reason is required
        r = client.post(
            f"/api/v1/exceptions/{case.pk}/replay", {"reason": "ERP back"}, format="json"
        )
        assert r.status_code == 202
        assert r.json()["replays"][0]["status"] == "requested"
        r = client.post(f"/api/v1/exceptions/{case.pk}/replay", {"reason": "again"}, format="json")
        assert r.status_code == 409 and "pending" in r.json()["detail"]


def test_bulk_dry_run_and_run(ingest_client, flow, operator):
    first = failed_case(ingest_client, "SOW-1")
    second = failed_case(ingest_client, "SOW-2")
    client = session_client(operator)
    r = client.post(
        "/api/v1/exceptions/bulk",
        {"action": "replay", "ids": [first.pk, second.pk], "dry_run": True, "reason": "x"},
        format="json",
    )
    assert r.status_code == 200
    refusals = {c["id"]: c["refusal"] for c in r.json()["cases"]}
    assert "no replay URL" in refusals[first.pk]  # the flow has none configured
    assert Replay.objects.count() == 0

    r = client.post(
        "/api/v1/exceptions/bulk",
        {"action": "acknowledge", "ids": [first.pk, second.pk, 424242]},
        format="json",
    )
    results = {x["id"]: x for x in r.json()["results"]}
    assert results[first.pk]["ok"] and results[second.pk]["ok"]
    assert results[424242] == {"id": 424242, "ok": False, "detail": "There is no case 424242."}
    assert first.__class__.objects.filter(status=CaseStatus.ACKNOWLEDGED).count() == 2


def test_the_transaction_detail_lists_its_cases_replays_and_audit(case, viewer):
    body = session_client(viewer).get("/api/v1/transactions/SOW-1").json()
    assert [c["id"] for c in body["exceptions"]] == [case.pk]
    assert body["replays"] == []
    assert [e["action"] for e in body["audit"]] == ["open", "route"]
