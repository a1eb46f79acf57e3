"""SSO settings: the role map, the ID token's algorithm rules, pages with SSO off or on."""

import jwt
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.test import Client
from joserfc.jwk import ECKey, RSAKey

from c2c_ops.sso import tokens
from c2c_ops.sso.config import parse_role_map
from c2c_ops.sso.roles import role_from_claims
from tests.conftest import PASSWORD

from .test_settings import manage

ROLE_MAP = "c2c-viewers=viewer, c2c-operators=operator,c2c-admins=admin"


def test_the_role_map_reads_group_role_pairs():
    assert parse_role_map(ROLE_MAP) == {
        "c2c-viewers": "viewer", "c2c-operators": "operator", "c2c-admins": "admin",
    }  # fmt: skip
    assert parse_role_map("") == {}


@pytest.mark.parametrize(
    "raw, says",
    [("c2c-admins", "is not group=role"), ("=admin", "is not group=role"),
     ("c2c-admins=root", "roles are viewer, operator, admin"),
     ("ops=viewer,ops=admin", "mapped to two roles")],
)  # fmt: skip
def test_a_malformed_role_map_is_refused_clearly(raw, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        parse_role_map(raw)


def test_the_app_refuses_to_start_with_a_bad_role_map():
    result = manage("check", OIDC_ISSUER="https://idp.example", OIDC_CLIENT_ID="c2c",
                    OIDC_ROLE_MAP="c2c-admins=superuser")  # fmt: skip
    assert result.returncode != 0 and "OIDC_ROLE_MAP" in result.stderr


def test_passwords_cannot_be_turned_off_without_sso():
    result = manage("check", PASSWORD_LOGIN="false")
    assert result.returncode != 0 and "PASSWORD_LOGIN=false needs OIDC_ISSUER" in result.stderr


def test_the_highest_mapped_role_wins():
    mapping = parse_role_map(ROLE_MAP)
    assert role_from_claims({"groups": ["c2c-viewers", "c2c-admins"]}, "groups", mapping) == "admin"
    assert role_from_claims({"groups": "c2c-operators"}, "groups", mapping) == "operator"
    assert role_from_claims({"groups": ["x"]}, "groups", mapping) is None
    nested = {"realm_access": {"roles": ["c2c-viewers"]}}
    assert role_from_claims(nested, "realm_access.roles", mapping) == "viewer"


def _token(key, alg: str, kid: str) -> str:
    pem = key.as_pem(private=True)
    return jwt.encode({"sub": "x"}, pem, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def keys(monkeypatch):
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rs"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec"})
    published = {"keys": [rsa.as_dict(private=False), ec.as_dict(private=False)]}
    monkeypatch.setattr(tokens.discovery, "key_set", lambda refresh=False: published)
    return rsa, ec


def test_a_token_must_name_an_algorithm_of_the_list_and_a_key_of_its_type(keys):
    rsa, ec = keys
    assert tokens.signing_key(jwt.get_unverified_header(_token(rsa, "RS256", "rs")))
    assert tokens.signing_key(jwt.get_unverified_header(_token(ec, "ES256", "ec")))
    for header in ({"alg": "ES256", "kid": "rs"}, {"alg": "RS256", "kid": "ec"},
                   {"alg": "HS256", "kid": "rs"}, {"alg": "none"}, {"alg": "RS384", "kid": "rs"},
                   {"alg": "RS256", "kid": "unknown"}):  # fmt: skip
        with pytest.raises(SuspiciousOperation):
            tokens.signing_key(header)


def test_without_sso_there_is_no_sso_button_nor_route(db):
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with SSO" not in page and 'name="password"' in page
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/?code=x&state=y").status_code == 404


@pytest.fixture
def passwords_off(settings):
    settings.OIDC_ISSUER = "https://idp.example"  # not reached: no sign-in is started
    settings.PASSWORD_LOGIN = False


def test_with_passwords_off_the_form_is_hidden_and_a_password_post_refused(passwords_off, viewer):
    client = Client()
    page = client.get("/accounts/login/?next=/flows/").content.decode()
    assert "Sign in with SSO" in page and 'name="password"' not in page
    assert "/oidc/authenticate/?next=/flows/" in page
    response = client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})
    assert (
        response.status_code == 403
        and "Password sign-in is turned off" in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_with_passwords_off_the_admin_sends_people_to_the_sign_in_page(passwords_off, admin_user):
    client = Client()
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.post("/admin/login/", {"username": admin_user.username, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    assert User.objects.get(pk=admin_user.pk).last_login is None


def test_with_passwords_on_both_forms_still_sign_in(settings, viewer):
    settings.OIDC_ISSUER = "https://idp.example"
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with SSO" in page and 'name="password"' in page
    response = client.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(viewer.pk)
