"""A flow key's life (tracking.key_lifecycle) and its "last used" note (tracking.keys.touch),
seen from the events API: what works, when it stops working, what is written."""

from datetime import timedelta

import orjson
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import log as audit
from audit.models import AuditEntry
from tests.conftest import key_client, make_key
from tests.tracking.factories import event
from tracking import key_lifecycle
from tracking.key_lifecycle import KeyRefused
from tracking.keys import touch
from tracking.models import FlowAPIKey

pytestmark = pytest.mark.django_db
WHO = audit.Who("ada-admin")


def status(key: str) -> int:
    return key_client(key).post("/api/v1/events", event("work_approved"), format="json").status_code


def later(**delta):
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def test_a_created_key_works_and_its_entry_holds_no_secret(flow):
    issued = key_lifecycle.create(WHO, flow, "billing prod", ["ingest", "read"])
    assert status(issued.key) == 202
    entry = AuditEntry.objects.get(object_type="api_key")
    assert (entry.action, entry.actor_name, entry.object_id) == (
        "create",
        "ada-admin",
        issued.api_key.prefix,
    )
    assert entry.after == {
        "flow": flow.slug,
        "name": "billing prod",
        "prefix": issued.api_key.prefix,
        "scopes": ["ingest", "read"],
        "expiry": None,
        "revoked": False,
    }
    written = orjson.dumps([entry.before, entry.after, entry.reason, entry.object_id]).decode()
    assert issued.key not in written and issued.api_key.hashed_key not in written
    assert issued.key.partition(".")[2] not in written


@pytest.mark.parametrize(
    "scopes, expiry, message",
    [
        ([], None, "at least one scope"),
        (["ingest", "configure"], None, "Unknown scope configure"),
        (["ingest"], -1, "in the future"),
    ],
)
def test_creating_refuses_bad_input(flow, scopes, expiry, message):
    when = timezone.now() + timedelta(minutes=expiry) if expiry else None
    with pytest.raises(KeyRefused, match=message):
        key_lifecycle.create(WHO, flow, "k", scopes, when)
    assert not FlowAPIKey.objects.exists() and not AuditEntry.objects.exists()


def test_a_key_past_its_expiry_is_refused(flow):
    issued = key_lifecycle.create(
        WHO, flow, "short", ["ingest"], timezone.now() + timedelta(hours=1)
    )
    assert status(issued.key) == 202
    with later(hours=1, seconds=1):
        # The library agrees: an expired key is not valid, whatever our own check says.
        assert not FlowAPIKey.objects.is_valid(issued.key)
        assert status(issued.key) == 401


def test_both_keys_work_during_the_overlap_and_only_the_new_one_after(flow):
    old = key_lifecycle.create(WHO, flow, "billing prod", ["ingest"])
    new = key_lifecycle.rotate(WHO, flow, old.api_key.prefix, timedelta(hours=24))
    assert new.key != old.key and new.api_key.scopes == ["ingest"]
    assert new.api_key.name.startswith("billing prod (rotated ")
    assert (status(old.key), status(new.key)) == (202, 202)
    with later(hours=23, minutes=59):
        assert (status(old.key), status(new.key)) == (202, 202)
    with later(hours=24, seconds=1):
        assert (status(old.key), status(new.key)) == (401, 202)
    entry = AuditEntry.objects.get(action="rotate")
    assert entry.object_id == old.api_key.prefix and entry.before["expiry"] is None
    assert entry.after["prefix"] == new.api_key.prefix
    assert entry.after["replaces"] == old.api_key.prefix and entry.after["old_key_expiry"]
    written = orjson.dumps([entry.before, entry.after]).decode()
    assert old.key not in written and new.key not in written
    assert AuditEntry.objects.count() == 2  # the two creates' one, the rotation's one


def test_rotating_keeps_an_earlier_expiry_and_one_rotated_mark(flow):
    soon = timezone.now() + timedelta(hours=2)
    old = key_lifecycle.create(WHO, flow, "x" * 50, ["read"], soon)
    first = key_lifecycle.rotate(WHO, flow, old.api_key.prefix, timedelta(hours=24))
    old.api_key.refresh_from_db()
    assert old.api_key.expiry_date == soon  # the overlap never lengthens a key's life
    assert first.api_key.expiry_date is None
    second = key_lifecycle.rotate(WHO, flow, first.api_key.prefix, timedelta(0))
    assert len(second.api_key.name) <= 50 and second.api_key.name.count("(rotated ") == 1


def test_revoked_or_expired_keys_are_not_rotated(flow):
    gone = key_lifecycle.create(WHO, flow, "gone", ["ingest"])
    key_lifecycle.revoke(WHO, flow, gone.api_key.prefix)
    with pytest.raises(KeyRefused, match="revoked"):
        key_lifecycle.rotate(WHO, flow, gone.api_key.prefix, timedelta(hours=1))
    with pytest.raises(KeyRefused, match="already revoked"):
        key_lifecycle.revoke(WHO, flow, gone.api_key.prefix)
    assert FlowAPIKey.objects.count() == 1
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("at")) == [
        "create",
        "revoke",
    ]


def test_a_revoked_key_is_refused_at_once(flow):
    issued = key_lifecycle.create(WHO, flow, "k", ["ingest"])
    assert status(issued.key) == 202
    key_lifecycle.revoke(WHO, flow, issued.api_key.prefix)
    assert status(issued.key) == 401
    entry = AuditEntry.objects.get(action="revoke")
    assert (entry.before["revoked"], entry.after["revoked"]) == (False, True)


def test_a_key_of_another_flow_is_not_found(flow, other_flow):
    issued = key_lifecycle.create(WHO, other_flow, "theirs", ["ingest"])
    with pytest.raises(FlowAPIKey.DoesNotExist):
        key_lifecycle.revoke(WHO, flow, issued.api_key.prefix)


def _key_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "tracking_flowapikey"')]


def test_last_used_is_written_once_a_minute_not_per_request(flow):
    key = make_key(flow, "ingest")
    api_key = FlowAPIKey.objects.get()
    assert api_key.last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with CaptureQueriesContext(connection) as first:
            assert status(key) == 202
        with CaptureQueriesContext(connection) as again:
            for _ in range(5):
                assert status(key) == 202
    assert len(_key_writes(first.captured_queries)) == 1 and not _key_writes(again.captured_queries)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert status(key) == 202
    api_key.refresh_from_db()
    assert api_key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert status(key) == 202
    api_key.refresh_from_db()
    assert api_key.last_used_at == start + timedelta(seconds=61)


def test_of_two_processes_with_a_stale_copy_one_writes(flow):
    make_key(flow, "ingest")
    mine, theirs = FlowAPIKey.objects.get(), FlowAPIKey.objects.get()
    now = timezone.now()
    assert touch(theirs, now) is True
    assert touch(mine, now + timedelta(seconds=1)) is False  # the row is fresh already


def test_a_refused_key_is_not_noted_as_used(flow):
    issued = key_lifecycle.create(WHO, flow, "k", ["ingest"])
    key_lifecycle.revoke(WHO, flow, issued.api_key.prefix)
    assert status(issued.key) == 401
    assert FlowAPIKey.objects.get().last_used_at is None
