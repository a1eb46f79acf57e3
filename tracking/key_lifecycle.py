"""A flow key's life as admins manage it from the pages: made (the full key handed back
once), rotated (a successor, while the old key keeps working for an overlap), revoked.

Each change writes one audit entry in the same transaction, so a change is never without
its entry nor an entry without its change. The entry names a key by its prefix, which is
not secret; the key itself exists only in the answer to the request that made it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit import log as audit

from .models import Flow, FlowAPIKey
from .models.flows import SCOPES

NAME_MAX = FlowAPIKey._meta.get_field("name").max_length
# A rotated key's name ends so; rotating it again replaces the mark rather than adding one.
ROTATED_MARK = re.compile(r"\s*\(rotated [^)]*\)$")
AUDIT_TYPE = "api_key"


class KeyRefused(ValueError):
    """The change cannot be made; the message says why, for the person who asked."""


@dataclass(frozen=True)
class Issued:
    api_key: FlowAPIKey
    key: str  # the full key: for the one answer that shows it, never stored nor logged


def facts(api_key: FlowAPIKey) -> dict:
    """What the audit log keeps of a key: everything but its secret and hash."""
    expiry = api_key.expiry_date
    return {
        "flow": api_key.flow.slug,
        "name": api_key.name,
        "prefix": api_key.prefix,
        "scopes": list(api_key.scopes),
        "expiry": expiry.isoformat() if expiry else None,
        "revoked": api_key.revoked,
    }


def state(api_key: FlowAPIKey, now: datetime | None = None) -> str:
    """revoked, expired, expiring (works until its expiry) or active (no expiry)."""
    now = now or timezone.now()
    if api_key.revoked:
        return "revoked"
    if api_key.expiry_date is None:
        return "active"
    # As djangorestframework-api-key decides: expired once its expiry is past.
    return "expired" if api_key.expiry_date < now else "expiring"


def _checked(scopes, expiry: datetime | None, now: datetime) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise KeyRefused(f"Unknown scope {', '.join(unknown)}: choose from {', '.join(SCOPES)}.")
    if not chosen:
        raise KeyRefused("Choose at least one scope.")
    _future(expiry, now)
    return chosen


def expiry_from(text: str, now: datetime | None = None) -> datetime:
    """An expiry as a command line gives it: whole days from now (``90``), or an ISO 8601
    moment (``2027-03-31T18:00``; in the server's time zone when it names no offset)."""
    now = now or timezone.now()
    text = text.strip()
    if text.isdigit():
        if int(text) < 1:
            raise KeyRefused("Give at least 1 day, or an ISO 8601 moment.")
        return now + timedelta(days=int(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise KeyRefused(f"{text!r} is neither a number of days nor an ISO 8601 moment.") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    _future(moment, now)
    return moment


def _future(expiry: datetime | None, now: datetime) -> None:
    if expiry is not None and expiry <= now:
        raise KeyRefused("The expiry must be in the future.")


def create(who: audit.Who, flow: Flow, name: str, scopes, expiry: datetime | None = None) -> Issued:
    now = timezone.now()
    chosen = _checked(scopes, expiry, now)
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise KeyRefused(f"Give the key a name of 1 to {NAME_MAX} characters.")
    with transaction.atomic():
        api_key, key = FlowAPIKey.objects.create_key(
            flow=flow, name=name, scopes=chosen, expiry_date=expiry
        )
        audit.record(
            who, "create", api_key, object_type=AUDIT_TYPE, object_id=api_key.prefix,
            after=facts(api_key),
        )  # fmt: skip
    return Issued(api_key, key)


def rotated_name(name: str, now: datetime) -> str:
    mark = f" (rotated {timezone.localtime(now):%Y-%m-%d})"
    base = ROTATED_MARK.sub("", name).strip() or "key"
    return base[: NAME_MAX - len(mark)].rstrip() + mark


def rotate(
    who: audit.Who, flow: Flow, prefix: str, overlap: timedelta, expiry: datetime | None = None
) -> Issued:
    """A successor with the same scopes; the old key works for ``overlap`` more (or until
    its own expiry, if sooner), so clients can switch without a gap. The successor expires
    at ``expiry`` (none: never), not at the old key's date: rotating is how a key is renewed."""
    now = timezone.now()
    if overlap < timedelta(0):
        raise KeyRefused("The overlap cannot be negative.")
    with transaction.atomic():
        # Locked so that two admins rotating the same key make one successor, not two.
        old = _locked(flow, prefix)
        if state(old, now) in ("revoked", "expired"):
            raise KeyRefused(f"Key {old.prefix} is {state(old, now)}: create a new key instead.")
        _future(expiry, now)
        before = facts(old)
        ends = now + overlap
        if old.expiry_date is None or old.expiry_date > ends:
            old.expiry_date = ends
            old.save(update_fields=["expiry_date"])
        new, key = FlowAPIKey.objects.create_key(
            flow=flow, name=rotated_name(old.name, now), scopes=list(old.scopes),
            expiry_date=expiry,
        )  # fmt: skip
        after = {**facts(new), "replaces": old.prefix, "old_key_expiry": facts(old)["expiry"]}
        audit.record(
            who, "rotate", old, object_type=AUDIT_TYPE, object_id=old.prefix,
            before=before, after=after,
        )  # fmt: skip
    return Issued(new, key)


def revoke(who: audit.Who, flow: Flow, prefix: str) -> FlowAPIKey:
    """Refused from the next request on here, within API_KEY_CACHE_SECONDS elsewhere
    (tracking.keys.verify); a revoked key cannot be restored."""
    with transaction.atomic():
        api_key = _locked(flow, prefix)
        if api_key.revoked:
            raise KeyRefused(f"Key {api_key.prefix} is already revoked.")
        before = facts(api_key)
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        audit.record(
            who, "revoke", api_key, object_type=AUDIT_TYPE, object_id=api_key.prefix,
            before=before, after=facts(api_key),
        )  # fmt: skip
    return api_key


def _locked(flow: Flow, prefix: str) -> FlowAPIKey:
    found = FlowAPIKey.objects.select_for_update().filter(flow=flow, prefix=prefix).first()
    if found is None:
        raise FlowAPIKey.DoesNotExist(f"No key {prefix} on flow {flow.slug}.")
    found.flow = flow
    return found
