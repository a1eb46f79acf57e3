"""What a span says about its transaction: the ``c2c.*`` attributes that name and describe
it, checked as the events API checks the same fields, and the ledger event of a span that
reports a stage (ERROR is a failure of that stage, anything else a success)."""

from datetime import datetime

from django.conf import settings

from ..projection import TEXT_FACTS, IncomingEvent
from .events import (
    FACT_LENGTH,
    MAX_ID,
    MAX_LABEL,
    contract_version,
    currency,
    money,
    system,
)

STATUS_ERROR = 2

_KEYS = {
    name: "c2c." + name
    for name in (*TEXT_FACTS, "correlation_id", "journey", "stage", "error_code")
}


def attr(attributes: dict, name: str) -> str:
    value = attributes.get(_KEYS[name])
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


_FACT_KEYS = tuple((name, "c2c." + name, FACT_LENGTH[name]) for name in TEXT_FACTS)
# The c2c.* attributes that name a transaction or its step, with the longest value of each
# (the events API's): cut to fit, a correlation ID would name another transaction.
_ID_LIMITS = {"c2c.correlation_id": MAX_ID, "c2c.journey": MAX_LABEL, "c2c.stage": MAX_LABEL}
_TEXT_KEYS = (*_ID_LIMITS, *(key for _, key, _ in _FACT_KEYS))


def label_problem(attributes: dict) -> str:
    """Why these c2c.* attributes cannot describe a transaction, or an empty string.

    A string or an integer (an id sent as a number) is taken; a list, a map or a boolean
    is refused rather than stored as its Python repr. Descriptive facts (customer,
    region...) longer than their column are cut, as they always were; ids are refused.
    """
    for key in _TEXT_KEYS:
        value = attributes.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            return f"{key} must be a string"
        limit = _ID_LIMITS.get(key)
        if limit is not None and len(str(value).strip()) > limit:
            return f"{key} is longer than {limit} characters"
    return ""


def _facts(attributes: dict) -> dict[str, str]:
    facts = {}
    for name, key, length in _FACT_KEYS:
        value = attributes.get(key)
        if value is not None:
            text = (value if isinstance(value, str) else str(value)).strip()[:length]
            if text:
                facts[name] = text
    return facts


def span_event(
    *,
    trace_id: str,
    span_id: str,
    correlation_id: str,
    end_time: datetime,
    status_code: int,
    status_message: str,
    attributes: dict,
    name: str,
    flow_id: int | None,
    flow_system: str = "",
) -> IncomingEvent:
    """The event a span reports: ERROR is a failure of its stage, anything else a success.

    ``flow_system``: the system it speaks for when ``c2c.system`` does not say.
    """
    amount = money(attributes.get("c2c.amount"), "c2c.amount")
    code = currency(attributes.get("c2c.currency")) if amount is not None else ""
    failed = status_code == STATUS_ERROR
    return IncomingEvent(
        event_id=f"span:{trace_id}:{span_id}",
        correlation_id=correlation_id,
        journey=attr(attributes, "journey"),
        stage=attr(attributes, "stage"),
        status="failed" if failed else "succeeded",
        occurred_at=end_time,
        flow_id=flow_id,
        amount=amount,
        currency=code or ("" if amount is None else settings.REPORTING_CURRENCY),
        facts=_facts(attributes),
        error_code=attr(attributes, "error_code")[:100] if failed else "",
        error_message=status_message[:4000] if failed else "",
        attributes={"span_name": name},
        source="span",
        trace_id=trace_id,
        span_id=span_id,
        system=system(attributes.get("c2c.system"), "c2c.system") or flow_system,
        contract_version=contract_version(
            attributes.get("c2c.contract_version"), "c2c.contract_version"
        ),
    )
