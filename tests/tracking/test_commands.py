from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from tests.conftest import key_client
from tracking.models import Flow, FlowAPIKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_creates_the_flow_and_prints_the_key_last():
    out, _ = run("create_api_key", "clm-to-erp-customer", "--scopes", "ingest,read")
    key = out.strip().splitlines()[-1]
    stored = FlowAPIKey.objects.get()
    assert stored.flow.slug == "clm-to-erp-customer"
    assert sorted(stored.scopes) == ["ingest", "read"]
    assert key not in stored.hashed_key and key not in stored.id  # only the hash is kept
    assert key_client(key).get("/api/v1/transactions").status_code == 200


def test_create_api_key_refuses_unknown_scopes():
    with pytest.raises(CommandError, match="unknown scope"):
        run("create_api_key", "f1", "--scopes", "ingest,godmode")
    assert not Flow.objects.exists()


def test_create_api_key_refuses_bad_slugs():
    with pytest.raises(CommandError, match="invalid flow slug"):
        run("create_api_key", "Bad Slug!")


def test_set_flow_creates_then_updates_without_echoing_the_secret():
    run("set_flow", "billing-to-erp", "--name", "Billing to ERP", "--owner-team", "erp-ops")
    out, _ = run(
        "set_flow",
        "billing-to-erp",
        "--replay-url",
        "https://erp.example/replay",
        "--replay-secret",
        "hunter2-very-secret",
    )
    flow = Flow.objects.get()
    assert (flow.name, flow.owner_team, flow.replay_url, flow.replay_secret) == (
        "Billing to ERP",
        "erp-ops",
        "https://erp.example/replay",
        "hunter2-very-secret",
    )
    assert "hunter2" not in out


def test_set_flow_rejects_a_bad_url():
    with pytest.raises(CommandError, match="replay_url"):
        run("set_flow", "f1", "--replay-url", "not a url")


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_create_user_gives_the_role(role):
    run("create_user", "fin", "--role", role, "--password", "long-enough-pass-1")
    user = User.objects.get(username="fin")
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.check_password("long-enough-pass-1")
    assert user.is_staff == (role == "admin")


def test_create_user_changes_role_of_an_existing_user():
    run("create_user", "fin", "--role", "viewer", "--password", "long-enough-pass-1")
    run("create_user", "fin", "--role", "operator", "--password", "long-enough-pass-1")
    assert list(User.objects.get().groups.values_list("name", flat=True)) == ["operator"]


def test_create_user_refuses_weak_passwords():
    with pytest.raises(CommandError, match=r"too short|too common"):
        run("create_user", "fin", "--role", "viewer", "--password", "abc")
    assert not User.objects.exists()
