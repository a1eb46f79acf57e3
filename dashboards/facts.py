"""What one transaction contributes to the metrics: pure functions, no database.

Facts are keyed by 5-minute bucket, measure and dimensions; each carries a count and an
amount in the reporting currency. Measures:

- ``started``, ``completed``: at the transaction's first event / its completion;
- ``failed``, ``stuck``: a transaction currently in that state, at the failure / the missed
  deadline;
- ``ev_ok``, ``ev_failed``: stage outcomes reported, at their occurrence (failure rate);
- ``sla_met:<policy id>`` at the end stage; ``sla_breached:<policy id>`` at the deadline,
  whether the end stage came late or not at all (yet); an instance still within its
  deadline counts nowhere until it is decided;
- ``latency:<policy id>:<bin>``: start-to-end time of each completed instance, in fixed
  log-spaced bins, so percentiles merge across any filter (see ``latency_bin``);
- ``unpriced``: a transaction whose currency has no FX rate (its money is left out);
- ``stage:<stage id>:<status>``: the stage a transaction is at and its status, at its
  start; the contract-to-cash funnel counts these for the transactions started in a window.
"""

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from . import calendars
from .fx import Rates

BUCKET = timedelta(minutes=5)
BINS_PER_DOUBLING = 4
MAX_BIN = 120  # 2**30 s: about 34 years
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=1 << 16)  # a transaction's facts share few moments
def bucket_of(moment: datetime) -> datetime:
    seconds = int((moment - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % int(BUCKET.total_seconds()))


def latency_bin(seconds: float) -> int:
    """Bin 0 holds [0, 1 s); bin i >= 1 holds [2**((i-1)/4), 2**(i/4)) seconds."""
    if seconds < 1:
        return 0
    return min(MAX_BIN, math.floor(BINS_PER_DOUBLING * math.log2(seconds)) + 1)


def latency_measures(policy_id: int) -> list[str]:
    """Every latency bin measure of a policy: readers name the measures they want."""
    return [f"latency:{policy_id}:{index}" for index in range(MAX_BIN + 1)]


def bin_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / BINS_PER_DOUBLING), 2 ** (index / BINS_PER_DOUBLING)


@dataclass(frozen=True)
class Policy:
    id: int
    journey_id: int
    from_stage: str
    to_stage: str
    kind: str
    target: timedelta | None
    business_time: bool
    region: str = ""
    business_unit: str = ""
    flow: str = ""
    leakage: bool = False

    def applies(self, txn: "TxnView") -> bool:
        return (
            self.journey_id == txn.journey_id
            and (not self.region or self.region == txn.region)
            and (not self.business_unit or self.business_unit == txn.business_unit)
            and (not self.flow or self.flow == txn.flow)
        )

    def deadline(self, start: datetime, calendar: calendars.Calendar) -> datetime:
        if self.kind == "month_close":
            return calendars.month_close(start, calendar)
        assert self.target is not None
        if self.business_time:
            return calendars.add_business_time(start, self.target, calendar)
        return start + self.target


@dataclass
class TxnView:
    id: int
    journey_id: int
    journey: str
    flow: str
    region: str
    business_unit: str
    legal_entity: str
    amount: Decimal | None
    currency: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    stage_event_at: datetime | None
    next_deadline_at: datetime | None
    stage_times: dict[str, str]
    stage_id: int | None = None


@dataclass
class Derived:
    facts: dict[tuple, list] = field(default_factory=dict)
    deadline: datetime | None = None  # earliest open SLA deadline (not leakage)
    close_deadline: datetime | None = None  # earliest open month-close deadline (leakage)
    recheck_at: datetime | None = None  # when a pending instance will be decided
    amount: Decimal | None = None  # the transaction's amount in the reporting currency

    def add(self, moment: datetime, measure: str, dims: tuple, amount: Decimal | None) -> None:
        key = (bucket_of(moment), measure, *dims)
        held = self.facts.get(key)
        if held is None:
            self.facts[key] = [1, amount]
        else:
            held[0] += 1
            if amount is not None:
                held[1] = amount if held[1] is None else held[1] + amount


def derive(
    txn: TxnView,
    outcomes: list[tuple[datetime, str]],
    policies: list[Policy],
    calendar_map: dict[str, calendars.Calendar],
    rates: Rates,
    now: datetime,
) -> Derived:
    """The facts of ``txn`` as of ``now``; ``outcomes`` are its events' (occurred_at, status)."""
    out = Derived()
    dims = (txn.journey, txn.flow, txn.region, txn.business_unit, txn.legal_entity)

    def money(moment: datetime) -> Decimal | None:
        return rates.convert(txn.amount, txn.currency, moment.date())

    out.amount = money(now)
    out.add(txn.started_at, "started", dims, money(txn.started_at))
    if txn.amount is not None and out.amount is None:
        out.add(txn.started_at, "unpriced", dims, None)
    if txn.stage_id is not None:
        out.add(txn.started_at, f"stage:{txn.stage_id}:{txn.status}", dims, None)
    if txn.status == "completed" and txn.completed_at is not None:
        out.add(txn.completed_at, "completed", dims, money(txn.completed_at))
    elif txn.status == "failed" and txn.stage_event_at is not None:
        out.add(txn.stage_event_at, "failed", dims, money(txn.stage_event_at))
    elif txn.status == "stuck" and txn.next_deadline_at is not None:
        out.add(txn.next_deadline_at, "stuck", dims, money(txn.next_deadline_at))
    for occurred_at, status in outcomes:
        if status == "succeeded":
            out.add(occurred_at, "ev_ok", dims, None)
        elif status == "failed":
            out.add(occurred_at, "ev_failed", dims, None)

    calendar = calendars.for_region(calendar_map, txn.region)
    for policy in policies:
        if not policy.applies(txn):
            continue
        start_text = txn.stage_times.get(policy.from_stage)
        if start_text is None:
            continue
        start = datetime.fromisoformat(start_text)
        due = policy.deadline(start, calendar)
        end_text = txn.stage_times.get(policy.to_stage)
        if end_text is not None:
            end = datetime.fromisoformat(end_text)
            seconds = max(0.0, (end - start).total_seconds())
            out.add(end, f"latency:{policy.id}:{latency_bin(seconds)}", dims, None)
            if end <= due:
                out.add(end, f"sla_met:{policy.id}", dims, money(end))
            else:
                out.add(due, f"sla_breached:{policy.id}", dims, money(due))
            continue
        if due <= now:
            out.add(due, f"sla_breached:{policy.id}", dims, money(due))
        elif out.recheck_at is None or due < out.recheck_at:
            out.recheck_at = due
        if txn.status == "in_progress":
            if policy.leakage:
                out.close_deadline = min(filter(None, (out.close_deadline, due)))
            else:
                out.deadline = min(filter(None, (out.deadline, due)))
    return out
