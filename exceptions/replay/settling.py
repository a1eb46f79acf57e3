"""What the flow's later reports mean for a replay, read from the ledger's outbox with the
cases (``exceptions.intake``): the stage succeeded (the replay worked, or was not needed),
or it failed again after the replay was sent."""

from datetime import datetime

from audit import log as audit
from audit.models import AuditEntry
from tracking.models import Event, StatusChange, Transaction

from ..actors import SYSTEM
from ..models import Replay, ReplayStatus
from ..progress import stage_done


def on_stage_done(
    replays: list[Replay], txns: dict[int, Transaction], now: datetime
) -> list[AuditEntry]:
    """Settle pending replays whose stage has since succeeded; their audit entries."""
    changed, entries = [], []
    for replay in replays:
        txn = txns.get(replay.transaction_id)
        if txn is None or not stage_done(txn, replay.stage_id):
            continue
        before = {"status": replay.status}
        if replay.status == ReplayStatus.SENT:
            replay.status = ReplayStatus.SUCCEEDED
            replay.result_event_id = _success_event(txn.id, replay.stage_id)
            why = "the flow reported the stage succeeded"
        else:
            replay.status = ReplayStatus.REJECTED
            replay.decided_by_name, replay.decided_at = "system", now
            why = "the stage succeeded before the replay was sent"
        replay.finished_at = now
        replay.last_error = "" if replay.status == ReplayStatus.SUCCEEDED else why
        changed.append(replay)
        entries.append(
            audit.entry(
                SYSTEM,
                "replay_" + replay.status,
                replay,
                before=before,
                after={"status": replay.status},
                reason=why,
                at=now,
            )
        )
    Replay.objects.bulk_update(
        changed,
        ["status", "result_event_id", "decided_by_name", "decided_at", "finished_at", "last_error"],
    )
    return entries


def on_failed_again(replays: list[Replay], change: StatusChange, now: datetime) -> list[AuditEntry]:
    """Fail sent replays of the stage this change reports failed again after the send."""
    entries = []
    for replay in replays:
        if (
            replay.transaction_id == change.transaction_id
            and replay.stage_id == change.stage_id
            and replay.status == ReplayStatus.SENT
            and replay.sent_at is not None
            and change.changed_at >= replay.sent_at
        ):
            why = f"the flow reported the stage failed again (event {change.event_id})"
            replay.status, replay.finished_at = ReplayStatus.FAILED, now
            replay.result_event_id, replay.last_error = change.event_id, why
            replay.save(update_fields=["status", "finished_at", "result_event_id", "last_error"])
            entries.append(
                audit.entry(
                    SYSTEM,
                    "replay_failed",
                    replay,
                    before={"status": "sent"},
                    after={"status": replay.status},
                    reason=why,
                    at=now,
                )
            )
    return entries


def _success_event(txn_id: int, stage_id: int) -> str:
    return (
        Event.objects.filter(transaction_id=txn_id, stage_id=stage_id, status="succeeded")
        .order_by("occurred_at")
        .values_list("event_id", flat=True)
        .first()
        or ""
    )
