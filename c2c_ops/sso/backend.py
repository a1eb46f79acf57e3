"""Signing a person in from the provider's answer: tokens, claims, user and role.

``OIDCBackend`` keeps mozilla-django-oidc's code flow (state, nonce and PKCE are checked by
its callback view) and changes what it gets wrong for us: endpoints come from discovery when
first needed, the ID token is checked by ``tokens.verify`` (RS256 or ES256, iss, aud, exp),
users are found by the provider's ``sub`` rather than by email, and the role follows the
provider's claim at every sign-in.
"""

import logging
import re

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from audit import log as audit

from . import config, discovery, roles, tokens
from .models import Identity

log = logging.getLogger(__name__)
_NOT_USERNAME = re.compile(r"[^\w.@+-]")


class Refused(Exception):
    """The provider vouched for the person, but c2c-ops has no role for them."""

    def __init__(self, username: str, values: list[str]) -> None:
        super().__init__(f"{username} holds no mapped group")
        self.username = username
        self.values = values


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs) -> None:
        # The parent reads the endpoints from settings here, on every request (Django builds
        # a backend to load the session's user): they come from discovery, when needed.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = getattr(settings, "OIDC_RP_CLIENT_ID", "")
        self.OIDC_RP_CLIENT_SECRET = getattr(settings, "OIDC_RP_CLIENT_SECRET", "")
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: discovery.endpoint("token_endpoint"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: discovery.endpoint("userinfo_endpoint"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: discovery.endpoint("jwks_uri"))

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce: a password form's POST carrying ?code=&state=
        # must not start a token exchange.
        if request is None or "nonce" not in kwargs or not config.enabled():
            return None
        return super().authenticate(request, **kwargs)

    def store_tokens(self, access_token, id_token) -> None:
        # Kept on the request: the callback puts it in the session after signing in, as
        # signing in may flush the session (another user was signed in there).
        self.request._oidc_id_token = id_token

    def get_token(self, payload: dict) -> dict:
        methods = discovery.document().get(
            "token_endpoint_auth_methods_supported", ["client_secret_basic"]
        )
        auth = None
        if "client_secret_basic" in methods:
            auth = (payload["client_id"], payload.pop("client_secret"))
        try:
            response = httpx.post(
                self.OIDC_OP_TOKEN_ENDPOINT, data=payload, auth=auth,
                timeout=settings.OIDC_TIMEOUT,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise discovery.ProviderUnavailable(f"token endpoint: {exc}") from exc
        if response.status_code != 200:
            # A code used twice, or one for another client: the provider says invalid_grant.
            raise SuspiciousOperation(
                f"token endpoint answered {response.status_code}: {response.text[:200]}"
            )
        return response.json()

    def verify_token(self, token, **kwargs) -> dict:
        claims = tokens.verify(token, self.OIDC_RP_CLIENT_ID, discovery.issuer())
        nonce = kwargs.get("nonce")
        if not nonce or claims.get("nonce") != nonce:
            raise SuspiciousOperation("ID token nonce does not match this sign-in")
        return claims

    def get_userinfo(self, access_token, id_token, payload) -> dict:
        """The ID token's claims, completed (never overridden) by the userinfo endpoint's."""
        claims = dict(payload)
        url = discovery.endpoint("userinfo_endpoint")
        if not url or not access_token or not settings.OIDC_FETCH_USERINFO:
            return claims
        try:
            response = httpx.get(
                url, headers={"Authorization": f"Bearer {access_token}"},
                timeout=settings.OIDC_TIMEOUT,
            )  # fmt: skip
            response.raise_for_status()
            info = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise discovery.ProviderUnavailable(f"userinfo endpoint: {exc}") from exc
        # OIDC Core 5.3.2: userinfo about someone else must not be used.
        if not isinstance(info, dict) or info.get("sub") != payload["sub"]:
            raise SuspiciousOperation("userinfo is about another subject")
        for key, value in info.items():
            claims.setdefault(key, value)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        claim = settings.OIDC_ROLE_CLAIM
        role = roles.role_from_claims(claims, claim, settings.OIDC_ROLE_MAP)
        who = audit.Who(f"oidc:{discovery.issuer_host()}")
        reason = f"role from the identity provider's {claim} claim"
        with transaction.atomic():
            identity = (
                Identity.objects.select_for_update()
                .select_related("user")
                .filter(issuer=discovery.issuer(), subject=claims["sub"])
                .first()
            )
            if identity is None and role is None:
                raise Refused(self._username(claims), roles.claim_values(claims, claim))
            if identity is None:
                user = self._create(claims, who)
            else:
                user = identity.user
                self._update_profile(user, claims)
                Identity.objects.filter(pk=identity.pk).update(last_sign_in_at=timezone.now())
            # A person the provider no longer puts in a mapped group loses the role here,
            # so sessions they still hold lose its scopes too.
            roles.apply(user, role, who, reason)
        if role is None:
            raise Refused(user.get_username(), roles.claim_values(claims, claim))
        return user

    def _username(self, claims: dict) -> str:
        raw = claims.get("preferred_username") or claims.get("email") or f"sso-{claims['sub']}"
        return _NOT_USERNAME.sub("_", str(raw))[:140] or "sso-user"

    def _create(self, claims: dict, who: audit.Who):
        base = name = self._username(claims)
        number = 1
        while self.UserModel.objects.filter(username__iexact=name).exists():
            number += 1
            name = f"{base}-{number}"
        user = self.UserModel(username=name)
        user.set_unusable_password()  # signs in through the provider only
        self._profile(user, claims)
        user.save()
        Identity.objects.create(
            user=user, issuer=discovery.issuer(), subject=claims["sub"],
            last_sign_in_at=timezone.now(),
        )  # fmt: skip
        audit.record(
            who, "create", user, object_type="user",
            after={"username": name, "email": user.email, "sub": claims["sub"]},
            reason="first sign-in through the identity provider",
        )  # fmt: skip
        return user

    @staticmethod
    def _profile(user, claims: dict) -> bool:
        fields = {
            "email": claims.get("email"),
            "first_name": claims.get("given_name"),
            "last_name": claims.get("family_name"),
        }
        changed = False
        for field, value in fields.items():
            if isinstance(value, str) and value and getattr(user, field) != value[:150]:
                setattr(user, field, value[:150])
                changed = True
        return changed

    def _update_profile(self, user, claims: dict) -> None:
        if self._profile(user, claims):
            user.save(update_fields=["email", "first_name", "last_name"])
