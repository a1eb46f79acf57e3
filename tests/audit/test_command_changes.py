"""Management commands are changes too: each leaves one audit entry naming the OS user who
ran it, and never a secret, a key or a password."""

import getpass
import io

import orjson
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEntry
from dashboards.models import FxRate
from tracking.models import DeadLetter, FlowAPIKey

pytestmark = pytest.mark.django_db
OS_USER = f"os:{getpass.getuser()}"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def entries(**lookup) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**lookup).order_by("id"))


def text(entry: AuditEntry) -> str:
    return orjson.dumps([entry.object_id, entry.before, entry.after, entry.reason]).decode()


def test_set_flow_records_what_changed_and_only_that_a_secret_did(flow):
    run("set_flow", flow.slug, "--replay-secret=-a-secret-with-a-dash", "--owner-team", "ar")
    [entry] = entries(object_type="flow")
    assert (entry.actor_name, entry.action, entry.object_id) == (OS_USER, "change", str(flow.pk))
    assert entry.after == {"owner_team": "ar", "replay_secret": "changed"}
    assert "a-secret-with-a-dash" not in text(entry)
    run("set_flow", flow.slug, "--owner-team", "ar")  # the same again: nothing changed
    assert len(entries(object_type="flow")) == 1


def test_set_flow_creating_a_flow(db):
    run("set_flow", "new-flow", "--replay-url", "https://erp.example/replay")
    [entry] = entries(object_type="flow")
    assert entry.action == "create" and entry.after["slug"] == "new-flow"
    assert entry.after["replay_url"] == "https://erp.example/replay"
    assert entry.after["replay_secret"] == ""


def test_create_api_key_names_the_key_by_prefix_never_the_key(flow):
    key = run("create_api_key", flow.slug, "--scopes", "ingest,read").strip()
    [entry] = entries(object_type="api_key")
    stored = FlowAPIKey.objects.get(flow=flow)
    assert (entry.actor_name, entry.action, entry.object_id) == (OS_USER, "create", stored.prefix)
    assert entry.after["scopes"] == ["ingest", "read"] and entry.after["flow"] == flow.slug
    assert key not in text(entry) and stored.hashed_key not in text(entry)


def test_create_user_then_change_their_role(db):
    run("create_user", "fiona", "--role", "viewer", "--password", "a-long-passphrase-1")
    run("create_user", "fiona", "--role", "admin", "--password", "a-long-passphrase-2")
    created, changed = entries(object_type="user")
    user = User.objects.get(username="fiona")
    assert created.action == "create" and created.object_id == str(user.pk)
    assert created.actor_name == OS_USER
    assert created.after["role"] == "viewer" and created.after["password"] == "set"
    assert changed.before == {
        "role": "viewer", "is_staff": False, "is_superuser": False, "password": "set",
    }  # fmt: skip
    assert changed.after == {
        "role": "admin", "is_staff": True, "is_superuser": True, "password": "changed",
    }  # fmt: skip
    assert "passphrase" not in text(created) + text(changed)


def test_an_fx_import_is_one_entry_with_its_counts(tmp_path):
    FxRate.objects.create(date="2026-11-02", currency="EUR", rate="1.07")
    FxRate.objects.create(date="2026-11-03", currency="EUR", rate="1.08")
    path = tmp_path / "rates.csv"
    path.write_text(
        "date,currency,rate\n2026-11-02,EUR,1.07\n2026-11-03,EUR,1.09\n"
        "2026-11-02,GBP,1.25\n2026-11-03,GBP,1.26\n"
    )
    assert "2 added, 1 updated, 1 unchanged" in run("import_fx_rates", str(path))
    [entry] = entries(object_type="fx_rates")
    assert (entry.actor_name, entry.action) == (OS_USER, "import")
    assert entry.object_id == str(path)[-64:]
    assert entry.after == {
        "added": 2, "updated": 1, "unchanged": 1, "currencies": ["EUR", "GBP"],
        "from": "2026-11-02", "to": "2026-11-03",
    }  # fmt: skip


def test_a_refused_fx_import_changes_nothing_and_logs_nothing(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-11-02,EUR,1.07\n2026-11-03,EUR,-1\n")
    with pytest.raises(Exception, match="positive"):
        run("import_fx_rates", str(path))
    assert not FxRate.objects.exists() and not AuditEntry.objects.exists()


def test_reprocess_dead_letters_is_one_entry(flow):
    for n in range(2):
        DeadLetter.objects.create(
            flow=flow, event_id=f"e-{n}", correlation_id=f"INV-{n}", reason="unknown journey",
            received_at=timezone.now(),
            payload={"event_id": f"e-{n}", "correlation_id": f"INV-{n}", "journey": "nope",
                     "stage": "nope", "status": "succeeded", "occurred_at": "2026-11-02T10:00:00Z"},
        )  # fmt: skip
    run("reprocess_dead_letters", "--flow", flow.slug)
    [entry] = entries(object_type="dead_letters")
    assert (entry.actor_name, entry.action) == (OS_USER, "reprocess")
    assert entry.after["letters"] == 2 and entry.after["still_waiting"] == 2
    DeadLetter.objects.update(resolved_at=timezone.now())
    run("reprocess_dead_letters")  # nothing waits: nothing was done, nothing to log
    assert len(entries(object_type="dead_letters")) == 1
