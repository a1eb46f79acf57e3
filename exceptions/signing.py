"""Signed outgoing requests: ``C2C-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

The timestamp is part of what is signed, so a receiver can refuse old copies of a request.
Shared by replays and (later) webhook alert channels.
"""

import hashlib
import hmac
import time

HEADER = "C2C-Signature"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = sign(body, secret, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
