"""The terms reconciliation speaks in: a transaction's facts and stage amounts, a system's
version report, the rules' settings, a break and a reconciled contract."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

APPROVALS = {"contract_activation": "contract_approved", "amendment": "amendment_approved"}
BILLING = "billing"
# A billing transaction's stage and the figure its amount adds to.
FIGURES = {
    "work_approved": "approved",
    "invoice_generated": "invoiced",
    "invoice_posted": "posted",
    "payment_received": "paid",
}
# Each later stage's amount must match the earlier one's.
PAIRS = (
    ("work_approved", "invoice_generated", "approved", "invoiced"),
    ("invoice_generated", "invoice_posted", "invoiced", "posted"),
    ("invoice_posted", "payment_received", "posted", "paid"),
)
KINDS = ("version_mismatch", "amount_mismatch", "unbilled", "over_billed", "duplicate_invoice")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# (amount, from currency, to currency, day) -> the amount in the other currency, or None.
Exchange = Callable[[Decimal, str, str, date], Decimal | None]


@dataclass(frozen=True)
class StageAmount:
    amount: Decimal
    currency: str
    at: datetime
    event_id: str


@dataclass(frozen=True)
class TxnFacts:
    """What reconciliation reads of one transaction of the contract."""

    correlation_id: str
    journey: str
    stage: str
    started_at: datetime
    invoice: str = ""
    customer: str = ""
    region: str = ""
    business_unit: str = ""
    legal_entity: str = ""
    stage_amounts: dict[str, StageAmount] = field(default_factory=dict)
    approved_at: datetime | None = None  # work_approved's first success
    invoiced: bool = False  # invoice_generated has succeeded
    posted: int = 0  # distinct succeeded invoice_posted reports


@dataclass(frozen=True)
class VersionReport:
    """A system said it now holds this version of the contract's terms."""

    system: str
    version: str
    at: datetime
    event_id: str
    correlation_id: str
    value: Decimal | None = None  # the version's value, when the report approved it
    currency: str = ""


@dataclass(frozen=True)
class Rules:
    version_grace: timedelta
    tolerance: Decimal
    unbilled_wait: timedelta | None  # work approved to invoice generated, expected


@dataclass(frozen=True)
class Break:
    key: str
    kind: str
    amount: Decimal
    currency: str
    correlation_id: str
    stage: str  # the stage a case about it is opened on
    detail: str
    since: datetime


@dataclass
class Reconciled:
    contract: str
    currency: str
    customer: str = ""
    region: str = ""
    business_unit: str = ""
    legal_entity: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    amounts: dict[str, Decimal | None] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)
    # The next moment a break may appear with no new report (a grace or deadline passing).
    recheck_at: datetime | None = None


def in_currency(amount: StageAmount, currency: str, exchange: Exchange) -> Decimal | None:
    if amount.currency == currency or not amount.currency:
        return amount.amount
    converted = exchange(amount.amount, amount.currency, currency, amount.at.date())
    return None if converted is None else converted.quantize(CENT)
