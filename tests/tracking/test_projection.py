"""The fold of events into a transaction: order-independent, never backwards."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.journeys import JourneyInfo, StageInfo
from tracking.projection import IncomingEvent, LedgerState, PlacedEvent, apply, finalize

H = timedelta(hours=1)
STAGES = (
    StageInfo(1, "work_approved", 0, 48 * H),
    StageInfo(2, "invoice_generated", 1, 4 * H),
    StageInfo(3, "invoice_posted", 2, 45 * 24 * H),
    StageInfo(4, "payment_received", 3, None),
)
BILLING = JourneyInfo(7, "billing", STAGES, {s.slug: s for s in STAGES})
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = T0 + 1000 * H


def ev(event_id: str, stage: int, status: str, hours: float, **kw) -> PlacedEvent:
    incoming = IncomingEvent(
        event_id=event_id,
        correlation_id="SOW-1",
        journey="billing",
        stage=STAGES[stage].slug,
        status=status,
        occurred_at=T0 + hours * H,
        **kw,
    )
    return PlacedEvent(incoming, BILLING, STAGES[stage])


def fold(events: list[PlacedEvent], state: LedgerState | None = None) -> LedgerState:
    state = state or LedgerState(correlation_id="SOW-1", journey_id=BILLING.id)
    previous = state.top_key()
    for event in events:
        apply(state, event)
    finalize(state, BILLING, previous, NOW)
    return state


def test_success_then_next_stage_deadline_counts_from_the_success():
    state = fold([ev("a", 0, "succeeded", 0)])
    assert (state.status, state.current_stage_id) == ("in_progress", 1)
    assert state.next_deadline_at == T0 + 48 * H


def test_a_later_success_clears_the_failure():
    state = fold([ev("a", 0, "succeeded", 0), ev("b", 1, "failed", 1, error_code="E1")])
    assert (state.status, state.error_code) == ("failed", "E1")
    fold([ev("c", 1, "succeeded", 2)], state)
    assert (state.status, state.error_code, state.current_stage_id) == ("in_progress", "", 2)
    assert state.next_deadline_at == T0 + 2 * H + 4 * H


def test_a_late_failure_does_not_move_the_ledger_backwards():
    state = fold([ev("a", 0, "succeeded", 0), ev("c", 1, "succeeded", 2)])
    fold([ev("b", 1, "failed", 3)], state)
    assert (state.status, state.current_stage_id, state.stage_status) == (
        "in_progress",
        2,
        "succeeded",
    )


def test_a_late_earlier_stage_sets_its_time_but_not_the_stage():
    state = fold([ev("b", 1, "started", 5)])
    assert state.next_deadline_at == T0 + 5 * H + 48 * H  # no success known yet: from first event
    fold([ev("a", 0, "succeeded", 1)], state)
    assert state.current_stage_id == 2
    assert state.stage_times == {"work_approved": "2026-11-02T10:00:00.000000Z"}
    assert state.next_deadline_at == T0 + 1 * H + 48 * H
    assert state.started_at == T0 + 1 * H


def test_last_stage_success_completes_without_deadline():
    events = [ev(str(i), i, "succeeded", i) for i in range(4)]
    state = fold(events)
    assert (state.status, state.completed_at, state.next_deadline_at) == (
        "completed",
        T0 + 3 * H,
        None,
    )


def test_stuck_holds_until_progress():
    state = fold([ev("a", 0, "succeeded", 0)])
    state.status = "stuck"  # what the sweep does
    fold([ev("late-dup-stage", 0, "started", -1)], state)
    assert state.status == "stuck"
    fold([ev("b", 1, "succeeded", 60)], state)
    assert state.status == "in_progress"


def test_amount_is_last_writer_wins_by_occurrence():
    state = fold([ev("b", 1, "succeeded", 2, amount=Decimal("80.00"), currency="EUR")])
    fold([ev("a", 0, "succeeded", 1, amount=Decimal("100.00"), currency="EUR")], state)
    assert state.fact("amount") == ["80.00", "EUR"]


event_specs = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(["started", "succeeded", "failed"]),
        st.integers(0, 200),
        st.sampled_from([None, "10.00", "20.50"]),
        st.sampled_from(["", "EMEA", "APAC"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(event_specs, st.randoms(use_true_random=False), st.integers(1, 3))
def test_any_order_and_any_repetition_give_the_same_state(specs, rnd, copies):
    events = [
        ev(
            f"e{i}",
            stage,
            status,
            hours,
            amount=None if amt is None else Decimal(amt),
            currency="" if amt is None else "USD",
            facts={"region": region} if region else {},
        )
        for i, (stage, status, hours, amt, region) in enumerate(specs)
    ]
    reference = fold(list(events))
    shuffled = events * copies
    rnd.shuffle(shuffled)
    # Arriving in several batches, in any order, with repeats: the same ledger row.
    state = LedgerState(correlation_id="SOW-1", journey_id=BILLING.id)
    for start in range(0, len(shuffled), 3):
        fold(shuffled[start : start + 3], state)
    for name in (
        "status",
        "current_stage_id",
        "stage_status",
        "stage_event_at",
        "error_code",
        "started_at",
        "last_event_at",
        "completed_at",
        "next_deadline_at",
        "stage_times",
        "facts",
    ):
        assert getattr(state, name) == getattr(reference, name), name


@pytest.mark.parametrize("status", ["started", "failed"])
def test_first_stage_without_success_has_no_deadline(status):
    assert fold([ev("a", 0, status, 0)]).next_deadline_at is None
