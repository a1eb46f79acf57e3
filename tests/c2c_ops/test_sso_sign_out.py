"""Signing out of an SSO session ends it here and at the provider."""

import re
from html import unescape

import httpx
import pytest
from django.test import Client

from .sso_flow import sign_in, signed_in_as

pytestmark = [pytest.mark.live, pytest.mark.django_db]


def test_sign_out_ends_the_session_and_reaches_the_providers_end_session(sso):
    sso.user("sam", ["c2c-viewers"])
    client = Client()
    sign_in(client, sso, "sam")
    id_token = client.session["oidc_id_token"]

    response = client.post("/accounts/logout/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert signed_in_as(client) == "" and client.get("/").status_code == 302
    onward = unescape(
        re.search(r'id="provider-sign-out" href="([^"]+)"', response.content.decode())[1]
    )
    assert onward.startswith(f"{sso.url}/logout?")
    with httpx.Client() as browser:
        back = browser.get(onward)
    assert (
        back.status_code == 302 and back.headers["location"] == "http://testserver/accounts/login/"
    )
    (signed_out,) = sso.sign_outs()[-1:]
    assert signed_out["id_token_hint"] == id_token and signed_out["client_id"] == "c2c-rs"


def test_a_password_session_signs_out_here_only(sso, viewer):
    client = Client()
    client.force_login(viewer)
    response = client.post("/accounts/logout/")
    assert response.status_code != 200 or "provider-sign-out" not in response.content.decode()
    assert signed_in_as(client) == ""
