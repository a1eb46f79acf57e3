"""Sign-in and sign-out pages: the SSO start and callback, the password form, the admin's.

A refused SSO sign-in gets a page that says why (HTTP 403), never a bare redirect: a person
without a c2c-ops role must learn whom to ask, and a failed check must not look like a bug.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, auth
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views import View
from mozilla_django_oidc import views as oidc_views

from audit import log as audit

from . import config, discovery
from .backend import OIDCBackend, Refused

log = logging.getLogger(__name__)


def _refused(request: HttpRequest, reason: str, username: str = "", **context) -> HttpResponse:
    audit.record(
        audit.Who(f"oidc:{discovery.issuer_host()}"), "sign_in_failed", None,
        object_type="user", object_id=username[:64],
        after={"method": "sso", "reason": reason[:300], "ip": request.META.get("REMOTE_ADDR", "")},
    )  # fmt: skip
    page = "sso_no_role" if context.get("no_role") else "sso_failed"
    return render(
        request, f"registration/{page}.html", {"username": username, **context}, status=403
    )


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.warning("identity provider unavailable: %s", exc)
    return render(request, "registration/sso_failed.html", {"unavailable": True}, status=503)


class SsoStart(oidc_views.OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with state, nonce and the PKCE challenge."""

    def __init__(self, **kwargs) -> None:
        View.__init__(self, **kwargs)  # the parent's reads the endpoint at every request

    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_OP_AUTH_ENDPOINT = property(lambda self: discovery.endpoint("authorization_endpoint"))

    def get(self, request):
        if not config.enabled():
            raise Http404("single sign-on is not configured")
        try:
            return super().get(request)
        except discovery.ProviderUnavailable as exc:
            return _unavailable(request, exc)


# The session's user is loaded by Django's model backend (it checks is_active): the OIDC
# backend signs people in but is not one of AUTHENTICATION_BACKENDS, which tries each of
# those on every password sign-in.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back. The state is taken out of the session
    before the code is exchanged, so a second use of the same answer is refused."""
    if not config.enabled():
        raise Http404("single sign-on is not configured")
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    states = request.session.get("oidc_states")
    pending = states.pop(state, None) if isinstance(states, dict) and state else None
    if pending is not None:
        request.session["oidc_states"] = states
        request.session.save()
    if error := request.GET.get("error", ""):
        return _refused(request, f"the provider answered {error[:100]}", provider_error=error)
    if pending is None or not code:
        return _refused(request, "no sign-in under way with this state (used twice, or stale)")
    request._audit_sign_in_method = "sso"
    try:
        user = OIDCBackend().authenticate(
            request, nonce=pending.get("nonce"), code_verifier=pending.get("code_verifier")
        )
    except Refused as exc:
        return _refused(
            request, "no mapped group", exc.username, no_role=True,
            contact=settings.OIDC_ACCESS_CONTACT,
            groups=sorted(settings.OIDC_ROLE_MAP.items(), key=lambda item: item[1]),
        )  # fmt: skip
    except SuspiciousOperation as exc:
        log.warning("SSO sign-in refused: %s", exc)
        return _refused(request, str(exc))
    except discovery.ProviderUnavailable as exc:
        return _unavailable(request, exc)
    if user is None or not user.is_active:
        # None: the backend refused the claims (logged by mozilla-django-oidc).
        reason = "account disabled" if user is not None else "claims refused"
        return _refused(request, reason, getattr(user, "username", ""))
    next_url = request.session.get("oidc_login_next")
    auth.login(request, user, backend=SESSION_BACKEND)
    request.session["oidc_id_token"] = request._oidc_id_token
    return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


class SignInView(auth_views.LoginView):
    """Django's sign-in form, with the SSO button; a password POST is refused when
    ``PASSWORD_LOGIN`` is off (the backend would refuse it anyway)."""

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "sso_enabled": config.enabled(),
            "password_login": config.password_login(),
        }

    def post(self, request, *args, **kwargs):
        if not config.password_login():
            context = {**self.get_context_data(), "password_refused": True}
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in, or the app's when passwords are off (SSO has no admin form)."""
    if config.password_login():
        return admin.site.login(request)
    query = urlencode({"next": request.GET.get("next", resolve_url("admin:index"))})
    return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{query}")


def provider_logout_url(request: HttpRequest) -> str:
    """The provider's end-session URL for an SSO session, or "" (also usable as
    mozilla-django-oidc's ``OIDC_OP_LOGOUT_URL_METHOD``)."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not config.enabled():
        return ""
    try:
        end_session = discovery.endpoint("end_session_endpoint")
    except discovery.ProviderUnavailable as exc:
        log.warning("signed out locally only: %s", exc)
        return ""
    if not end_session:
        return ""
    query = urlencode({
        "id_token_hint": id_token,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGIN_URL)),
    })  # fmt: skip
    return f"{end_session}{'&' if '?' in end_session else '?'}{query}"


class SignOutView(auth_views.LogoutView):
    """Ends the session here, then at the provider when it offers that.

    The provider is reached through a page that moves on by itself, not a redirect: the
    sign-out form's redirect to another origin would be stopped by CSP's form-action.
    """

    def post(self, request, *args, **kwargs):
        at_provider = provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        if not at_provider:
            return response
        page = render(request, "registration/sso_signed_out.html", {"at_provider": at_provider})
        page["Cache-Control"] = "no-store"
        return page
