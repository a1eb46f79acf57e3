"""The identity provider's endpoints and keys, found from its issuer and kept a while.

Nothing is fetched at import or start-up: the provider may be down while c2c-ops starts, and
password sign-in (when allowed) must keep working then. The document is fetched at the first
SSO request and kept for an hour; the key set is kept too, and fetched again when a token
names a key it does not hold (the provider rotated its keys).
"""

import threading
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

DOCUMENT_TTL_SECONDS = 3600
_lock = threading.Lock()
_documents: dict[str, tuple[float, dict]] = {}
_key_sets: dict[str, tuple[float, dict]] = {}


class ProviderUnavailable(Exception):
    """The provider could not be reached, or answered something that is not OIDC."""


def issuer() -> str:
    return settings.OIDC_ISSUER.rstrip("/")


def issuer_host() -> str:
    return urlsplit(issuer()).hostname or issuer()


def _get_json(url: str) -> dict:
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{url}: not a JSON object")
    return data


def document() -> dict:
    """The discovery document of ``OIDC_ISSUER``, checked to be that issuer's."""
    name = issuer()
    with _lock:
        cached = _documents.get(name)
    if cached and time.monotonic() - cached[0] < DOCUMENT_TTL_SECONDS:
        return cached[1]
    data = _get_json(f"{name}/.well-known/openid-configuration")
    # OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer it was
    # fetched for; tokens are then checked against that very value.
    if str(data.get("issuer", "")).rstrip("/") != name:
        raise ProviderUnavailable(
            f"the discovery document names the issuer {data.get('issuer')!r}, not {name!r}"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ProviderUnavailable(f"the discovery document has no {key}")
    with _lock:
        _documents[name] = (time.monotonic(), data)
    return data


def endpoint(key: str) -> str:
    return document().get(key) or ""


def key_set(refresh: bool = False) -> dict:
    """The provider's JWKS; ``refresh`` fetches it again (a token named an unknown key)."""
    url = endpoint("jwks_uri")
    with _lock:
        cached = _key_sets.get(url)
    if cached and not refresh and time.monotonic() - cached[0] < DOCUMENT_TTL_SECONDS:
        return cached[1]
    data = _get_json(url)
    if not isinstance(data.get("keys"), list):
        raise ProviderUnavailable(f"{url}: no keys")
    with _lock:
        _key_sets[url] = (time.monotonic(), data)
    return data


def forget() -> None:
    """Drop what is kept (tests point the app at a new provider)."""
    with _lock:
        _documents.clear()
        _key_sets.clear()
