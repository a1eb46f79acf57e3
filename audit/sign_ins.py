"""Sign-ins, failed sign-ins and sign-outs go to the audit log, with the client's address."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import log


def _address(request) -> dict:
    if request is None:
        return {}
    return {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "agent": request.headers.get("user-agent", "")[:200],
    }


@receiver(user_logged_in, dispatch_uid="audit-sign-in")
def signed_in(sender, request, user, **kwargs) -> None:
    method = getattr(request, "_audit_sign_in_method", "password") if request else "password"
    log.record(
        log.person(user), "sign_in", user, object_type="user",
        after={"method": method, **_address(request)},
    )  # fmt: skip


@receiver(user_logged_out, dispatch_uid="audit-sign-out")
def signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        log.record(log.person(user), "sign_out", user, object_type="user", after=_address(request))


@receiver(user_login_failed, dispatch_uid="audit-sign-in-failed")
def sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # The username tried, never the password (Django already masks it in ``credentials``).
    name = str(credentials.get("username", ""))[:150]
    log.record(
        log.Who(name or "anonymous"), "sign_in_failed", None, object_type="user",
        object_id=name, after=_address(request),
    )  # fmt: skip
