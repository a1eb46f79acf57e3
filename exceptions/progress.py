"""Where a transaction stands on its journey, as cases and replays read it."""

from tracking import journeys
from tracking.models import Transaction


def stage_done(txn: Transaction, stage_id: int) -> bool:
    """Whether the stage, or a later one, has succeeded: the transaction is past it."""
    info = journeys.by_id(txn.journey_id)
    if info is None:
        return False
    stage = info.stage_by_id(stage_id)
    if stage is None:
        return False
    return any(s.slug in txn.stage_times for s in info.stages[stage.position :])


def waiting_stage_id(journey_id: int, stage_id: int | None, stage_succeeded: bool) -> int | None:
    """The stage a stuck transaction waits for: the next one after a success, else its own."""
    info = journeys.by_id(journey_id)
    if info is None or stage_id is None:
        return stage_id
    stage = info.stage_by_id(stage_id)
    if stage is None or not stage_succeeded or stage.position == info.last_position:
        return stage_id
    return info.stages[stage.position + 1].id


def stage_slug(journey_id: int, stage_id: int) -> str:
    info = journeys.by_id(journey_id)
    stage = info.stage_by_id(stage_id) if info else None
    return stage.slug if stage else str(stage_id)
