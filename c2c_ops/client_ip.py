"""The client's address, for sign-in throttling (django-axes' AXES_CLIENT_IP_CALLABLE).

REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says how many proxies of ours stand in front of the
app: each appends the address it received the request from to X-Forwarded-For, so the
client is the entry that many places from the right. Entries further left were written by
the client itself and are never believed; with the setting at 0 the header is ignored.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer entries than proxies: the request did not come through all of them.
        return remote
    return _address(hops[-proxies]) or remote
