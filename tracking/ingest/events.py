"""Validate status callbacks (``POST /api/v1/events`` items) into ledger events.

Plain Python rather than a DRF serializer: a batch holds up to 1,000 items and this runs for
each, so it must cost microseconds. The OpenAPI description of the same shape lives in
``tracking.api.serializers.EventInSerializer``.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson
import pycountry
from django.conf import settings
from django.utils import timezone

from ..models import Transaction
from ..projection import TEXT_FACTS, IncomingEvent
from ..timefmt import EPOCH

STATUSES = frozenset({"started", "succeeded", "failed"})
MAX_ID = 200
MAX_LABEL = 100
MAX_MESSAGE = 4000
# Reports from a clock this far ahead are refused: they would pin the ledger in the future.
MAX_CLOCK_SKEW = timedelta(hours=1)
CENT = Decimal("0.01")
# Longest value of each descriptive field: its ledger column's length.
FACT_LENGTH = {name: Transaction._meta.get_field(name).max_length for name in TEXT_FACTS}
NUL = "\x00"
MAX_AMOUNT = Decimal("9999999999999999.99")
# A decimal string: digits with an optional fraction and exponent, as JSON writes numbers.
DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
MAX_SYSTEM = 50
# A system is a lowercase slug (clm, billing, erp...); a contract version is a short token
# such as "2", "v2" or "2024.1".
SYSTEM = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


class Invalid(ValueError):
    """A report that cannot be accepted; the message is shown to the client."""


def text(item: dict, name: str, limit: int, required: bool = False) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    # PostgreSQL text cannot hold NUL; a lone surrogate is not text at all.
    value = value.replace(NUL, "").strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(f"{name} is not valid Unicode text") from exc
    if len(value) > limit:
        raise Invalid(f"{name} is longer than {limit} characters")
    if required and not value:
        raise Invalid(f"{name} is required")
    return value


def moment(value: object, name: str = "occurred_at") -> datetime:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{name} is required, as an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{name} {value!r} is not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        raise Invalid(f"{name} {value!r} has no time zone offset")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError as exc:
        raise Invalid(f"{name} {value!r} is out of range") from exc
    if parsed < EPOCH:
        raise Invalid(f"{name} {value!r} is before 1970")
    if parsed > timezone.now() + MAX_CLOCK_SKEW:
        raise Invalid(f"{name} {value!r} is more than an hour in the future")
    return parsed


def money(value: object, name: str = "amount") -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Invalid(f"{name} must be a number or a decimal string")
    if isinstance(value, str) and not DECIMAL.fullmatch(value.strip()):
        # Decimal() also reads "1_000", " NaN", "Infinity": not what a ledger takes as money.
        raise Invalid(f'{name} {_short(value)} is not a number (write it as "1250.00")')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise Invalid(f"{name} {value!r} is not a number") from exc
    if not amount.is_finite():
        raise Invalid(f"{name} {value!r} is not a finite number")
    # The size before the cents: quantizing 1e26 to cents needs more digits than the
    # decimal context has, and raises.
    if amount.copy_abs() > MAX_AMOUNT:
        raise Invalid(f"{name} {_short(value)} is larger than the ledger holds ({MAX_AMOUNT})")
    cents = amount.quantize(CENT)
    if amount != cents:
        raise Invalid(f"{name} {_short(value)} has more than 2 decimal places")
    return cents


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def currency(value: object) -> str:
    """An ISO 4217 code the FX tables can know: "XYZ" is three letters, not a currency."""
    if value is None or value == "":
        return ""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or code not in CURRENCIES:
        raise Invalid(f"currency {_short(value)} is not an ISO 4217 currency code (e.g. EUR)")
    return code


def system(value: object, name: str = "system") -> str:
    """A system slug, in any case (``ERP`` is ``erp``); blank when not given."""
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    slug = value.strip().lower()
    if len(slug) > MAX_SYSTEM:
        raise Invalid(f"{name} is longer than {MAX_SYSTEM} characters")
    if not SYSTEM.fullmatch(slug):
        raise Invalid(f"{name} {_short(value)} is not a slug (letters, digits, - and _)")
    return slug


def contract_version(value: object, name: str = "contract_version") -> str:
    """A contract version: "2", "v2", "2024.1"; an integer is read as its digits."""
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    version = value.strip()
    if len(version) > MAX_SYSTEM:
        raise Invalid(f"{name} is longer than {MAX_SYSTEM} characters")
    if not VERSION.fullmatch(version):
        raise Invalid(f"{name} {_short(value)} is not a version (letters, digits, ., - and _)")
    return version


def default_system(target_system: str) -> str:
    """A flow's target system as the system its reports speak for, when it is a slug."""
    slug = target_system.strip().lower()
    return slug if len(slug) <= MAX_SYSTEM and SYSTEM.fullmatch(slug) else ""


def json_object(value: object, name: str) -> dict:
    """A JSON object the ledger can store: no NUL characters, 64-bit numbers at most."""
    if not isinstance(value, dict):
        raise Invalid(f"{name} must be an object")
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:  # integers past 64 bits, lone surrogates
        raise Invalid(f"{name} cannot be stored: {exc}") from exc
    return _strip_nul(value) if b"\\u0000" in encoded else value


def _strip_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def parse_event(
    item: object, key_flow_id: int, key_flow_slug: str, flow_system: str = ""
) -> IncomingEvent:
    """One item of the events API, or Invalid with the reason.

    ``flow_system``: the key's flow's target system (``default_system``), the system an
    event speaks for when it does not say.
    """
    if not isinstance(item, dict):
        raise Invalid("each event must be a JSON object")
    status = item.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise Invalid(f"status must be one of started, succeeded, failed (got {status!r})")
    flow = text(item, "flow", MAX_LABEL)
    if flow and flow != key_flow_slug:
        raise Invalid(f"this API key reports for flow {key_flow_slug!r}, not {flow!r}")
    error = item.get("error") or {}
    if not isinstance(error, dict):
        raise Invalid("error must be an object with code and message")
    attributes = json_object(item.get("attributes") or {}, "attributes")
    amount = money(item.get("amount"))
    code = currency(item.get("currency"))
    if amount is None:
        code = ""
    elif not code:
        code = settings.REPORTING_CURRENCY
    facts = {name: text(item, name, FACT_LENGTH[name]) for name in TEXT_FACTS}
    return IncomingEvent(
        event_id=text(item, "event_id", MAX_ID, required=True),
        correlation_id=text(item, "correlation_id", MAX_ID, required=True),
        journey=text(item, "journey", MAX_LABEL),
        stage=text(item, "stage", MAX_LABEL, required=True),
        status=status,
        occurred_at=moment(item.get("occurred_at")),
        flow_id=key_flow_id,
        amount=amount,
        currency=code,
        facts={name: value for name, value in facts.items() if value},
        error_code=text(error, "code", MAX_LABEL),
        error_message=text(error, "message", MAX_MESSAGE),
        attributes=attributes,
        system=system(item.get("system")) or flow_system,
        contract_version=contract_version(item.get("contract_version")),
    )
