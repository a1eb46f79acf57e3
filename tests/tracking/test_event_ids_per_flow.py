"""Event ids are each flow's own: another flow's use of an id neither blocks nor shows."""

import pytest

from tests.conftest import key_client, make_key
from tests.tracking.factories import event
from tracking.models import DeadLetter, Event

URL = "/api/v1/events"
pytestmark = pytest.mark.django_db


@pytest.fixture
def other_client(other_flow):
    return key_client(make_key(other_flow, "ingest"))


def test_two_flows_may_use_the_same_event_id(ingest_client, other_client, flow, other_flow):
    mine = event("work_approved", event_id="evt-1", correlation_id="SOW-A")
    theirs = event("work_approved", event_id="evt-1", correlation_id="SOW-B", amount="5")
    assert ingest_client.post(URL, mine, format="json").json()["accepted"] == 1
    reply = other_client.post(URL, theirs, format="json").json()
    assert reply == {"accepted": 1, "duplicates": 0, "errors": []}
    stored = dict(Event.objects.values_list("flow__slug", "transaction__correlation_id"))
    assert stored == {flow.slug: "SOW-A", other_flow.slug: "SOW-B"}


def test_idempotency_holds_within_each_flow(ingest_client, other_client):
    mine = event("work_approved", event_id="evt-1", correlation_id="SOW-A")
    ingest_client.post(URL, mine, format="json")
    other_client.post(URL, {**mine, "correlation_id": "SOW-B"}, format="json")
    again = ingest_client.post(URL, mine, format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    changed = other_client.post(URL, {**mine, "correlation_id": "SOW-C"}, format="json").json()
    assert "different content" in changed["errors"][0]["detail"]
    assert Event.objects.count() == 2


def test_dead_letters_are_kept_per_flow_too(ingest_client, other_client):
    lost = event("work_approved", event_id="evt-9", journey="not-a-journey")
    assert ingest_client.post(URL, lost, format="json").json()["accepted"] == 1
    assert other_client.post(URL, lost, format="json").json()["accepted"] == 1
    assert DeadLetter.objects.filter(resolved_at__isnull=True).count() == 2
