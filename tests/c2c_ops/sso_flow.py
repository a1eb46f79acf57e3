"""Driving a sign-in through the test provider: the app by Django's test client, the
provider's pages by httpx (each keeps its own cookies, as a browser keeps both)."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from c2c_ops.sso import discovery
from tests.oidc_provider import CLIENTS, Provider

CALLBACK = "http://testserver/oidc/callback/"
ROLE_MAP = {"c2c-viewers": "viewer", "c2c-operators": "operator", "c2c-admins": "admin"}


@pytest.fixture(scope="module")
def provider():
    with Provider([CALLBACK]) as running:
        yield running


@pytest.fixture
def sso(settings, provider):
    """The app pointed at the test provider, as the RS256 client; the provider reset."""
    settings.OIDC_ISSUER = provider.url
    settings.OIDC_RP_CLIENT_ID = "c2c-rs"
    settings.OIDC_RP_CLIENT_SECRET = CLIENTS["c2c-rs"][0]
    settings.OIDC_ROLE_MAP = ROLE_MAP
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_USE_PKCE = True
    provider.switch()
    discovery.forget()
    yield provider
    discovery.forget()


def authorize(client, provider: Provider, username: str, next_url: str = "") -> str:
    """Starts at the app, signs in at the provider; the callback URL the provider answers."""
    start = client.get("/oidc/authenticate/", {"next": next_url} if next_url else {})
    assert start.status_code == 302, start.content
    location = start["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{provider.url}/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    with httpx.Client(base_url=provider.url) as browser:
        browser.get("/login", params={"user": username}).raise_for_status()
        answer = browser.get(location)
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(CALLBACK), answer.headers["location"]
    return answer.headers["location"]


def sign_in(client, provider: Provider, username: str, next_url: str = ""):
    back = urlsplit(authorize(client, provider, username, next_url))
    return client.get(f"{back.path}?{back.query}")


def signed_in_as(client) -> str:
    from django.contrib.auth import get_user

    class Request:
        session = client.session

    user = get_user(Request())
    return user.get_username() if user.is_authenticated else ""
