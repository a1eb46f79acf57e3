"""A sign-in lockout (django-axes' ``user_locked_out``) goes to the audit log.

Axes sends the signal when a client reaches the failure limit, and again for each try it
refuses during the lockout; each try is also a failed sign-in (``sign_ins``).
"""

from axes.handlers.proxy import AxesProxyHandler
from axes.signals import user_locked_out
from django.dispatch import receiver

from . import log as audit


def _failures(request) -> int | None:
    counted = getattr(request, "axes_failures_since_start", None)
    if counted is not None:
        return counted
    credentials = getattr(request, "axes_credentials", None)
    return AxesProxyHandler.get_implementation().get_failures(request, credentials)


@receiver(user_locked_out, dispatch_uid="audit-locked-out")
def locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    name = str(username or "")[:150]
    audit.record(
        audit.Who(name or "anonymous"), "locked_out", None, object_type="user",
        object_id=name, after={"ip": ip_address or "", "failures": _failures(request)},
    )  # fmt: skip
