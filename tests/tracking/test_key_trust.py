"""A process trusts a key it verified for API_KEY_CACHE_SECONDS: ingest then costs no key
query, while revocation, expiry and flow changes still take effect."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit import log as audit
from tests.conftest import key_client
from tests.tracking.factories import event
from tracking import key_lifecycle, keys
from tracking.models import FlowAPIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand (time-machine leaves monotonic time alone)."""
    now = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: now[0])
    return now


def stored(key: str) -> FlowAPIKey:
    return FlowAPIKey.objects.get(prefix=key.partition(".")[0])


def test_a_key_verified_lately_costs_no_query(ingest_key, clock, django_assert_num_queries):
    assert keys.verify(ingest_key) is not None  # read, and "last used" written
    with django_assert_num_queries(0):
        assert keys.verify(ingest_key) is not None


def test_a_key_revoked_here_is_refused_at_the_next_request(ingest_key, flow, admin_user, clock):
    client = key_client(ingest_key)
    assert client.post("/api/v1/events", event("work_approved"), format="json").status_code == 202
    key_lifecycle.revoke(audit.person(admin_user), flow, stored(ingest_key).prefix)
    response = client.post("/api/v1/events", event("work_approved"), format="json")
    assert response.status_code == 401


def test_a_key_revoked_by_another_process_is_refused_once_trust_runs_out(
    ingest_key, clock, settings
):
    assert keys.verify(ingest_key) is not None
    # Another process's revocation: this one gets no signal of it.
    FlowAPIKey.objects.filter(pk=stored(ingest_key).pk).update(revoked=True)
    clock[0] += settings.API_KEY_CACHE_SECONDS - 0.1
    assert keys.verify(ingest_key) is not None
    clock[0] += 0.1
    assert keys.verify(ingest_key) is None


def test_zero_seconds_reads_the_key_on_every_request(ingest_key, clock, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    assert keys.verify(ingest_key) is not None
    FlowAPIKey.objects.filter(pk=stored(ingest_key).pk).update(revoked=True)
    assert keys.verify(ingest_key) is None


def test_a_trusted_key_is_still_refused_once_expired(ingest_key, clock):
    FlowAPIKey.objects.filter(pk=stored(ingest_key).pk).update(
        expiry_date=timezone.now() + timedelta(minutes=1)
    )
    assert keys.verify(ingest_key) is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert keys.verify(ingest_key) is None


def test_a_flow_change_is_seen_at_once(ingest_key, flow, clock):
    assert keys.verify(ingest_key).flow.target_system == flow.target_system
    flow.target_system = "erp"
    flow.save()
    assert keys.verify(ingest_key).flow.target_system == "erp"


def test_a_wrong_key_is_read_every_time_and_never_kept(ingest_key, clock):
    prefix, _, secret = ingest_key.partition(".")
    wrong = f"{prefix}.{secret[::-1]}"
    held = len(keys._verified)
    assert keys.verify(wrong) is None
    assert keys.verify(wrong) is None
    assert len(keys._verified) == held


def test_a_row_read_while_a_change_commits_is_not_kept(ingest_key, clock, monkeypatch):
    # A request reads the key just before a revocation commits, and keeps it after: it
    # may use what it read this once, not trust it for the next requests.
    read = FlowAPIKey.objects.get_from_key

    def read_then_revoked_elsewhere(key):
        row = read(key)
        keys.forget(row.pk)  # what the revocation's commit does in this process
        return row

    monkeypatch.setattr(FlowAPIKey.objects, "get_from_key", read_then_revoked_elsewhere)
    assert keys.verify(ingest_key) is not None
    monkeypatch.setattr(FlowAPIKey.objects, "get_from_key", read)
    FlowAPIKey.objects.filter(pk=stored(ingest_key).pk).update(revoked=True)
    assert keys.verify(ingest_key) is None
