from decimal import Decimal

import pytest

from tests.conftest import key_client, make_key
from tests.tracking.factories import event
from tracking.models import DeadLetter, Event, Transaction

URL = "/api/v1/events"
pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post(URL, body, format="json")


def test_single_event_opens_a_transaction(ingest_client, flow):
    response = post(
        ingest_client,
        event("work_approved", amount="1200.50", currency="eur", region="EMEA", customer="Acme"),
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    txn = Transaction.objects.get(correlation_id="SOW-2026-0042")
    assert (txn.status, txn.current_stage.slug, txn.flow, txn.region) == (
        "in_progress",
        "work_approved",
        flow,
        "EMEA",
    )
    assert (txn.amount, txn.currency, txn.customer) == (Decimal("1200.50"), "EUR", "Acme")


def test_batch_reports_errors_per_item_and_keeps_the_rest(ingest_client):
    body = [
        event("work_approved", event_id="a"),
        {"event_id": "b", "stage": "work_approved"},
        event("work_approved", event_id="c", occurred_at="yesterday"),
        event("invoice_generated", event_id="d", hours=1, amount="10.001"),
        "not an object",
        event("invoice_generated", event_id="e", hours=2),
    ]
    response = post(ingest_client, body)
    assert response.status_code == 202
    data = response.json()
    assert (data["accepted"], data["duplicates"]) == (2, 0)
    assert [(e["index"], e["event_id"]) for e in data["errors"]] == [
        (1, "b"),
        (2, "c"),
        (3, "d"),
        (4, None),
    ]
    assert "status must be one of" in data["errors"][0]["detail"]
    assert "RFC 3339" in data["errors"][1]["detail"]
    assert "2 decimal places" in data["errors"][2]["detail"]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"a", "e"}


def test_same_event_twice_is_a_duplicate_not_an_error(ingest_client):
    body = event("work_approved", event_id="dup-1", amount="99.00")
    post(ingest_client, body)
    response = post(ingest_client, [body, body])
    assert response.json() == {"accepted": 0, "duplicates": 2, "errors": []}
    assert Event.objects.count() == 1
    assert Transaction.objects.get().event_count == 1


def test_same_event_id_with_other_content_is_an_error(ingest_client):
    post(ingest_client, event("work_approved", event_id="x-1", amount="99.00"))
    response = post(ingest_client, event("work_approved", event_id="x-1", amount="98.00"))
    data = response.json()
    assert data["accepted"] == 0
    assert data["errors"][0]["event_id"] == "x-1"
    assert "different content" in data["errors"][0]["detail"]
    assert Transaction.objects.get().amount == Decimal("99.00")


def test_equivalent_timestamps_are_the_same_content(ingest_client):
    post(ingest_client, event("work_approved", event_id="t-1", occurred_at="2026-11-02T09:00:00Z"))
    again = event("work_approved", event_id="t-1", occurred_at="2026-11-02T10:00:00+01:00")
    assert post(ingest_client, again).json()["duplicates"] == 1


def test_unknown_journey_is_kept_as_a_dead_letter(ingest_client, flow):
    response = post(ingest_client, event("kickoff", journey="onboarding", event_id="dl-1"))
    assert response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    letter = DeadLetter.objects.get()
    assert (letter.event_id, letter.flow, letter.reason) == (
        "dl-1",
        flow,
        "unknown journey 'onboarding'",
    )
    # Resending it while it waits is a duplicate, not a second letter.
    again = post(ingest_client, event("kickoff", journey="onboarding", event_id="dl-1"))
    assert again.json()["duplicates"] == 1
    assert DeadLetter.objects.count() == 1


def test_unknown_stage_is_kept_as_a_dead_letter(ingest_client):
    post(ingest_client, event("invoice_emailed"))
    assert DeadLetter.objects.get().reason == "unknown stage 'invoice_emailed' of journey 'billing'"
    assert not Transaction.objects.exists()


def test_journey_may_be_left_out_once_the_transaction_exists(ingest_client):
    post(ingest_client, event("work_approved"))
    follow_up = event("invoice_generated", hours=1)
    del follow_up["journey"]
    assert post(ingest_client, follow_up).json()["accepted"] == 1
    assert Transaction.objects.get().current_stage.slug == "invoice_generated"


def test_an_event_for_another_journey_of_the_same_transaction_is_refused(ingest_client):
    post(ingest_client, event("work_approved"))
    response = post(ingest_client, event("payment_applied", journey="payment_sync"))
    assert "follows journey 'billing'" in response.json()["errors"][0]["detail"]


def test_a_key_cannot_report_for_another_flow(ingest_client, other_flow):
    response = post(ingest_client, event("work_approved", flow=other_flow.slug))
    assert response.json()["errors"][0]["detail"] == (
        "this API key reports for flow 'psa-to-billing', not 'billing-to-erp'"
    )
    assert not Event.objects.exists()


def test_naming_the_keys_own_flow_is_fine(ingest_client, flow):
    assert post(ingest_client, event("work_approved", flow=flow.slug)).json()["accepted"] == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"HTTP_AUTHORIZATION": "Bearer nope.nope"}, 401),
        ({"HTTP_AUTHORIZATION": "Basic eDp5"}, 401),
    ],
)
def test_requests_without_a_valid_key_are_refused(client, headers, status):
    response = client.post(URL, event("work_approved"), content_type="application/json", **headers)
    assert response.status_code == status
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Event.objects.exists()


def test_a_key_without_the_ingest_scope_is_forbidden(flow):
    client = key_client(make_key(flow, "read"))
    assert post(client, event("work_approved")).status_code == 403


def test_a_revoked_key_is_refused(flow):
    key = make_key(flow, "ingest")
    flow.api_keys.update(revoked=True)
    assert post(key_client(key), event("work_approved")).status_code == 401


def test_people_cannot_ingest(operator):
    from tests.conftest import session_client

    assert post(session_client(operator), event("work_approved")).status_code in (401, 403)


def test_batches_over_the_limit_are_refused_whole(ingest_client):
    response = post(ingest_client, [event("work_approved") for _ in range(1001)])
    assert response.status_code == 400
    assert "At most 1000" in response.json()["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize("body", ["[]", "42", "{not json"])
def test_malformed_bodies_are_400(ingest_client, body):
    response = ingest_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400


def test_future_events_are_refused(ingest_client):
    response = post(ingest_client, event("work_approved", occurred_at="2999-01-01T00:00:00Z"))
    assert "in the future" in response.json()["errors"][0]["detail"]
