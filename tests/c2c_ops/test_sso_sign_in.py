"""SSO sign-in against a real OIDC provider on loopback: roles, ID token checks, replays."""

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from c2c_ops.sso.models import Identity
from tests.oidc_provider import CLIENTS
from tracking.roles import ROLE_SCOPES, user_scopes

from .sso_flow import authorize, sign_in, signed_in_as

pytestmark = [pytest.mark.live, pytest.mark.django_db]

GROUPS = {"viewer": ["c2c-viewers"], "operator": ["c2c-operators", "staff"],
          "admin": ["c2c-admins", "c2c-viewers"]}  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_each_role_lands_with_its_scopes(sso, role):
    sso.user(f"pat-{role}", GROUPS[role])
    client = Client()
    response = sign_in(client, sso, f"pat-{role}", next_url="/exceptions/")
    assert response.status_code == 302 and response["Location"] == "/exceptions/"
    assert signed_in_as(client) == f"pat-{role}"
    user = User.objects.get(username=f"pat-{role}")
    assert user_scopes(user) == ROLE_SCOPES[role]
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.is_staff is (role == "admin") and not user.has_usable_password()
    assert Identity.objects.get(user=user).subject == f"sub-pat-{role}"
    assert user.email == f"pat-{role}@corp.example"  # from userinfo: not in the ID token
    assert client.get("/").status_code == 200
    entries = AuditEntry.objects.filter(object_type="user", object_id=str(user.pk))
    assert entries.get(action="create").actor_name == "oidc:127.0.0.1"
    assert entries.get(action="sign_in").after["method"] == "sso"
    change = entries.get(action="change")
    assert (change.before["role"], change.after["role"]) == (None, role)


def test_the_role_follows_the_claim_at_every_sign_in(sso):
    sso.user("rita", ["c2c-viewers"])
    sign_in(Client(), sso, "rita")
    rita = User.objects.get(username="rita")
    assert user_scopes(rita) == ROLE_SCOPES["viewer"]

    sso.user("rita", ["c2c-admins"], email="rita.new@corp.example")
    client = Client()
    assert sign_in(client, sso, "rita").status_code == 302
    rita = User.objects.get(pk=rita.pk)  # the same user: found by sub, email changed
    assert rita.email == "rita.new@corp.example"
    assert list(rita.groups.values_list("name", flat=True)) == ["admin"] and rita.is_superuser
    change = AuditEntry.objects.filter(action="change", object_id=str(rita.pk)).latest("id")
    assert change.actor_name == "oidc:127.0.0.1"
    assert change.before == {"role": "viewer", "is_superuser": False}
    assert change.after == {"role": "admin", "is_superuser": True}
    assert "groups claim" in change.reason

    sso.user("rita", ["c2c-operators"])
    sign_in(Client(), sso, "rita")
    rita = User.objects.get(pk=rita.pk)
    assert list(rita.groups.values_list("name", flat=True)) == ["operator"]
    assert not rita.is_staff and not rita.is_superuser
    assert User.objects.filter(username__startswith="rita").count() == 1


def test_a_person_without_a_mapped_group_is_refused_with_a_page_that_says_why(sso):
    sso.user("nina", ["staff", "everyone"])
    client = Client()
    response = sign_in(client, sso, "nina")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You have no c2c-ops role" in page and "your c2c-ops administrator" in page
    assert "c2c-operators" in page
    assert signed_in_as(client) == ""
    assert not User.objects.filter(username="nina").exists()
    refused = AuditEntry.objects.get(action="sign_in_failed", object_id="nina")
    assert refused.after["method"] == "sso"


def test_a_person_removed_from_the_groups_loses_the_role_and_is_refused(sso):
    sso.user("otto", ["c2c-operators"])
    sign_in(Client(), sso, "otto")
    sso.user("otto", [])
    client = Client()
    assert sign_in(client, sso, "otto").status_code == 403
    otto = User.objects.get(username="otto")
    assert user_scopes(otto) == frozenset() and signed_in_as(client) == ""
    change = AuditEntry.objects.filter(action="change", object_id=str(otto.pk)).latest("id")
    assert (change.before["role"], change.after["role"]) == ("operator", None)


@pytest.mark.parametrize(
    "switch",
    [{"tamper": True}, {"audience": "someone-else"}, {"expired": True}, {"alg": "HS256"},
     {"alg": "none"}],
    ids=["tampered", "wrong-audience", "expired", "hs256-with-client-secret", "unsigned"],
)  # fmt: skip
def test_an_id_token_that_does_not_check_out_is_refused(sso, switch):
    sso.user("mallory", ["c2c-viewers"])
    sso.switch(**switch)
    client = Client()
    response = sign_in(client, sso, "mallory")
    assert response.status_code == 403
    assert "Sign-in refused" in response.content.decode()
    assert signed_in_as(client) == ""
    assert not User.objects.filter(username="mallory").exists()


def test_a_callback_used_twice_is_refused(sso):
    sso.user("rex", ["c2c-viewers"])
    client = Client()
    back = authorize(client, sso, "rex")
    assert client.get(back).status_code == 302
    client.post("/accounts/logout/")
    again = client.get(back)
    assert again.status_code == 403 and signed_in_as(client) == ""
    # Nor from another browser, which never started this sign-in.
    other = Client()
    assert other.get(back).status_code == 403 and signed_in_as(other) == ""


def test_a_callback_the_browser_did_not_start_is_refused(sso):
    sso.user("eve", ["c2c-admins"])
    back = authorize(Client(), sso, "eve")
    victim = Client()
    victim.get("/oidc/authenticate/")  # a sign-in of its own under way, another state
    assert victim.get(back).status_code == 403 and signed_in_as(victim) == ""


def test_an_es256_id_token_is_accepted(sso, settings):
    settings.OIDC_RP_CLIENT_ID = "c2c-es"
    settings.OIDC_RP_CLIENT_SECRET = CLIENTS["c2c-es"][0]
    sso.user("esme", ["c2c-operators"])
    client = Client()
    assert sign_in(client, sso, "esme").status_code == 302
    assert signed_in_as(client) == "esme"
    import jwt

    assert jwt.get_unverified_header(client.session["oidc_id_token"])["alg"] == "ES256"


def test_the_sign_in_uses_pkce(sso, settings):
    # The provider requires a PKCE challenge: without one it answers with an error, which
    # the app shows as a refused sign-in.
    settings.OIDC_USE_PKCE = False
    sso.user("pia", ["c2c-viewers"])
    client = Client()
    start = client.get("/oidc/authenticate/")
    assert "code_challenge" not in start["Location"]
    with httpx.Client(base_url=sso.url) as browser:
        browser.get("/login", params={"user": "pia"})
        back = browser.get(start["Location"]).headers["location"]
    assert "error=invalid_request" in back
    response = client.get(back.removeprefix("http://testserver"))
    assert response.status_code == 403 and signed_in_as(client) == ""
