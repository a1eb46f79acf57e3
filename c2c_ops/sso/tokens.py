"""Checking an ID token: its signature against the provider's published keys, and its claims.

mozilla-django-oidc verifies with the one algorithm of ``OIDC_RP_SIGN_ALGO``, does not check
``aud`` or ``iss``, and lets most of PyJWT's errors escape as server errors. Here the token
header's algorithm is accepted only from a short list of asymmetric ones, the key must be of
the matching type (an RSA key cannot be fed to an HMAC check), and every failure is a
``SuspiciousOperation`` that the callback turns into a refused sign-in.
"""

import jwt
from django.core.exceptions import SuspiciousOperation

from . import discovery

# The algorithm a token may name, and the key type (and curve) its key must have. Never
# "none" nor HS*: those would let anyone holding the client secret, or nobody, sign.
ALGORITHMS = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
# Clock difference allowed between the provider and c2c-ops, on exp, iat and nbf.
LEEWAY_SECONDS = 60


def _candidates(keys: list, alg: str, kid: str | None) -> list[dict]:
    kty, crv = ALGORITHMS[alg]
    found = []
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") != kty:
            continue
        if crv and key.get("crv") != crv:
            continue
        if key.get("use", "sig") != "sig" or key.get("alg", alg) != alg:
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        found.append(key)
    return found


def signing_key(header: dict) -> jwt.PyJWK:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise SuspiciousOperation(f"ID token signed with {alg!r}, not one of {list(ALGORITHMS)}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise SuspiciousOperation("ID token names a key id that is not a string")
    found = _candidates(discovery.key_set()["keys"], alg, kid)
    if not found:
        found = _candidates(discovery.key_set(refresh=True)["keys"], alg, kid)
    if len(found) != 1:
        # Without a kid, two keys of the type would leave the choice to us: refuse instead.
        raise SuspiciousOperation(f"no single {alg} key of the provider matches kid {kid!r}")
    try:
        return jwt.PyJWK(found[0], algorithm=alg)
    except jwt.PyJWKError as exc:
        raise SuspiciousOperation(f"the provider's key is unusable: {exc}") from exc


def verify(token: str, audience: str, issuer: str) -> dict:
    """The claims of ``token`` once its signature, issuer, audience and times check out."""
    if not isinstance(token, str) or not token:
        raise SuspiciousOperation("the token response holds no ID token")
    try:
        header = jwt.get_unverified_header(token)
        key = signing_key(header)
        claims = jwt.decode(
            token,
            key,
            algorithms=[header["alg"]],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidTokenError as exc:
        raise SuspiciousOperation(f"ID token refused: {exc}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # OIDC Core 3.1.3.7: with several audiences, the token must be issued to us (azp).
    if len(audiences) > 1 and claims.get("azp") != audience:
        raise SuspiciousOperation("ID token has several audiences and azp is not this client")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SuspiciousOperation("ID token has no sub")
    return claims
