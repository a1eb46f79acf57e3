"""How events fold into a transaction's state: pure functions, no database.

The fold is a merge that does not depend on arrival order, so that late, duplicated and
shuffled reports always leave the same ledger:
- the current stage comes from the greatest event by (stage position, status rank,
  occurred_at, event_id), with succeeded > failed > started: the ledger never moves
  backwards, and a success of a stage clears its earlier failure;
- each stage's success time is the earliest success reported for it;
- descriptive fields (amount, region, customer...) are last-writer-wins registers ordered
  by (occurred_at, event_id), and so is each stage's own amount (its succeeded reports').
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from .journeys import JourneyInfo, StageInfo
from .timefmt import iso, parse_iso

STATUS_RANK = {"started": 0, "failed": 1, "succeeded": 2}
TEXT_FACTS = (
    "customer",
    "contract",
    "project",
    "invoice",
    "region",
    "business_unit",
    "legal_entity",
)


@dataclass
class IncomingEvent:
    """A validated report, before it is placed on a journey."""

    event_id: str
    correlation_id: str
    journey: str
    stage: str
    status: str
    occurred_at: datetime
    flow_id: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""
    attributes: dict = field(default_factory=dict)
    source: str = "api"
    trace_id: str = ""
    span_id: str = ""
    system: str = ""
    contract_version: str = ""

    @property
    def key(self) -> tuple[int | None, str]:
        """The idempotency key: event ids are unique within their flow."""
        return (self.flow_id, self.event_id)

    @property
    def stamp(self) -> str:
        """occurred_at in the canonical text form, computed once (it is compared often)."""
        cached = self.__dict__.get("_stamp")
        if cached is None:
            cached = self.__dict__["_stamp"] = iso(self.occurred_at)
        return cached

    def to_payload(self) -> dict:
        return {
            "event_id": self.event_id,
            "correlation_id": self.correlation_id,
            "journey": self.journey,
            "stage": self.stage,
            "status": self.status,
            "occurred_at": self.stamp,
            "flow_id": self.flow_id,
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "facts": self.facts,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "attributes": self.attributes,
            "source": self.source,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            # Only when said: the content hash of an event from before these fields existed
            # must stay the same, or its resend would be refused as other content.
            **({"system": self.system} if self.system else {}),
            **({"contract_version": self.contract_version} if self.contract_version else {}),
        }

    @classmethod
    def from_payload(cls, payload: dict) -> "IncomingEvent":
        values = dict(payload)
        values["occurred_at"] = parse_iso(values["occurred_at"])
        if values.get("amount") is not None:
            values["amount"] = Decimal(values["amount"])
        return cls(**values)


@dataclass
class PlacedEvent:
    incoming: IncomingEvent
    journey: JourneyInfo
    stage: StageInfo

    def key(self) -> tuple:
        ev = self.incoming
        return (self.stage.position, STATUS_RANK[ev.status], ev.occurred_at, ev.event_id)


@dataclass
class LedgerState:
    correlation_id: str
    journey_id: int
    id: int | None = None
    version: int = 0
    status: str = "in_progress"
    current_stage_id: int | None = None
    stage_position: int = -1
    stage_status: str = ""
    stage_event_at: datetime | None = None
    stage_event_id: str = ""
    error_code: str = ""
    error_message: str = ""
    started_at: datetime | None = None
    last_event_at: datetime | None = None
    completed_at: datetime | None = None
    next_deadline_at: datetime | None = None
    stage_times: dict[str, str] = field(default_factory=dict)
    facts: dict[str, list] = field(default_factory=dict)
    event_count: int = 0
    stage_amounts: dict[str, list] = field(default_factory=dict)

    def top_key(self) -> tuple | None:
        if self.stage_event_at is None:
            return None
        return (
            self.stage_position,
            STATUS_RANK[self.stage_status],
            self.stage_event_at,
            self.stage_event_id,
        )

    def fact(self, name: str, default: object = "") -> object:
        entry = self.facts.get(name)
        return default if entry is None else entry[2]


def apply(state: LedgerState, placed: PlacedEvent) -> None:
    ev = placed.incoming
    key = placed.key()
    top = state.top_key()
    if top is None or key > top:
        state.current_stage_id = placed.stage.id
        state.stage_position = placed.stage.position
        state.stage_status = ev.status
        state.stage_event_at = ev.occurred_at
        state.stage_event_id = ev.event_id
        failed = ev.status == "failed"
        state.error_code = ev.error_code if failed else ""
        state.error_message = ev.error_message if failed else ""
    if state.started_at is None or ev.occurred_at < state.started_at:
        state.started_at = ev.occurred_at
    if state.last_event_at is None or ev.occurred_at > state.last_event_at:
        state.last_event_at = ev.occurred_at
    stamp = ev.stamp
    if ev.status == "succeeded":
        known = state.stage_times.get(placed.stage.slug)
        if known is None or stamp < known:
            state.stage_times[placed.stage.slug] = stamp
    if ev.status == "succeeded" and ev.amount is not None:
        held = state.stage_amounts.get(placed.stage.slug)
        if held is None or (stamp, ev.event_id) > (held[0], held[1]):
            state.stage_amounts[placed.stage.slug] = [
                stamp,
                ev.event_id,
                str(ev.amount),
                ev.currency,
            ]
    observed: dict[str, object] = dict(ev.facts)
    if ev.flow_id is not None:
        observed["flow_id"] = ev.flow_id
    if ev.amount is not None:
        observed["amount"] = [str(ev.amount), ev.currency]
    for name, value in observed.items():
        held = state.facts.get(name)
        if held is None or (stamp, ev.event_id) > (held[0], held[1]):
            state.facts[name] = [stamp, ev.event_id, value]
    state.event_count += 1


def next_deadline(state: LedgerState, journey: JourneyInfo) -> datetime | None:
    """When the first stage not yet succeeded is due.

    It is counted from the success of the furthest earlier stage (the stage entered) plus
    the expected durations in between; with no earlier success known, from the first event.
    """
    stages = journey.stages
    waiting = state.stage_position + (1 if state.stage_status == "succeeded" else 0)
    if waiting <= 0 or waiting >= len(stages):
        return None
    anchor_position = next(
        (p for p in range(waiting - 1, -1, -1) if stages[p].slug in state.stage_times), None
    )
    if anchor_position is None:
        anchor = state.started_at
        durations = [stages[waiting - 1].expected_duration]
    else:
        anchor = parse_iso(state.stage_times[stages[anchor_position].slug])
        durations = [stages[p].expected_duration for p in range(anchor_position, waiting)]
    if anchor is None or any(d is None for d in durations):
        return None
    return anchor + sum(durations, timedelta())  # type: ignore[arg-type]


def finalize(
    state: LedgerState, journey: JourneyInfo, previous_top: tuple | None, now: datetime
) -> None:
    """Derive status, completion and deadline after events were applied."""
    state.next_deadline_at = next_deadline(state, journey)
    last = journey.stages[-1] if journey.stages else None
    if state.stage_status == "succeeded" and last and state.stage_position == last.position:
        state.status = "completed"
        state.completed_at = parse_iso(state.stage_times[last.slug])
        return
    state.completed_at = None
    if state.stage_status == "failed":
        state.status = "failed"
    elif (
        state.status == "stuck"
        and state.top_key() == previous_top
        and state.next_deadline_at is not None
        and state.next_deadline_at <= now
    ):
        # Only newer progress clears "stuck"; the sweep set it and a late report of an
        # earlier stage changes nothing about the wait.
        state.status = "stuck"
    else:
        state.status = "in_progress"
