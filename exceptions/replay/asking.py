"""Asking for a replay: whether a case may be replayed, the request, and a second
operator's decision above ``REPLAY_APPROVAL_THRESHOLD``."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from audit import log as audit

from ..actors import Actor, NotAllowed
from ..inputs import Conflict, Invalid, text
from ..models import LIVE_STATUSES, PENDING_REPLAYS, ExceptionCase, Replay, ReplayStatus
from ..progress import stage_done
from .queue import enqueue


@dataclass(frozen=True)
class Verdict:
    """Whether a case may be replayed now, and if not, why."""

    case: ExceptionCase
    refusal: str = ""
    needs_approval: bool = False

    @property
    def allowed(self) -> bool:
        return not self.refusal


# A case's replays still pending, as ``case.pending_replays`` (pages and bulk previews).
PENDING = Prefetch(
    "replays", Replay.objects.filter(status__in=PENDING_REPLAYS), to_attr="pending_replays"
)


def pending_by_stage(cases: list[ExceptionCase]) -> dict[tuple[int, int], Replay]:
    """Pending replays of the cases' stages, whichever case asked for them, in one query."""
    rows = Replay.objects.filter(
        transaction_id__in={c.transaction_id for c in cases}, status__in=PENDING_REPLAYS
    )
    return {(r.transaction_id, r.stage_id): r for r in rows}


def judge(case: ExceptionCase, pending: dict[tuple[int, int], Replay] | None = None) -> Verdict:
    """``pending``: from ``pending_by_stage`` when judging many cases; looked up if omitted."""
    if case.status not in LIVE_STATUSES:
        return Verdict(case, f"the case is {case.status}")
    if stage_done(case.transaction, case.stage_id):
        return Verdict(case, "the stage has already succeeded since the failure")
    if pending is None:
        pending = pending_by_stage([case])
    pending = pending.get((case.transaction_id, case.stage_id))
    if pending is not None:
        return Verdict(
            case, f"a replay of this stage is still pending ({pending.pk}: {pending.status})"
        )
    flow = case.flow
    if flow is None:
        return Verdict(case, "the case has no flow to replay it")
    if not flow.replay_url or not flow.replay_secret:
        return Verdict(case, f"flow {flow.slug} has no replay URL and secret")
    over = case.amount is not None and case.amount > settings.REPLAY_APPROVAL_THRESHOLD
    return Verdict(case, needs_approval=over)


def preview(case_ids: list[int]) -> list[Verdict]:
    """The dry run of a bulk replay: what would be replayed, and what refused and why."""
    cases = list(
        ExceptionCase.objects.filter(pk__in=case_ids)
        .select_related("transaction", "flow", "stage")
        .order_by("-amount", "id")
    )
    pending = pending_by_stage(cases)
    return [judge(case, pending) for case in cases]


def request(actor: Actor, case_id: int, reason: object) -> Replay:
    """Ask for a replay of the case's stage; raises Conflict with the refusal."""
    actor.require("operate")
    why = text(reason, "reason")
    with transaction.atomic():
        case = (
            ExceptionCase.objects.select_for_update(of=("self",))
            .select_related("transaction", "flow", "stage", "journey")
            .get(pk=case_id)
        )
        verdict = judge(case)
        if not verdict.allowed:
            raise Conflict(f"Replay refused: {verdict.refusal}.")
        status = (
            ReplayStatus.AWAITING_APPROVAL if verdict.needs_approval else ReplayStatus.REQUESTED
        )
        try:
            with transaction.atomic():
                replay = Replay.objects.create(
                    case=case,
                    transaction_id=case.transaction_id,
                    correlation_id=case.correlation_id,
                    stage_id=case.stage_id,
                    flow_id=case.flow_id,
                    replay_of_event_id=case.event_id,
                    reason=why,
                    amount=case.amount,
                    status=status,
                    requested_by=actor.user,
                    requested_by_name=actor.name,
                    requested_at=timezone.now(),
                )
        except IntegrityError:
            raise Conflict("Replay refused: another replay of this stage is pending.") from None
        audit.record(
            actor,
            "replay_requested",
            replay,
            after={"status": status, "case": case.pk},
            reason=why,
        )
        if status == ReplayStatus.REQUESTED:
            enqueue(replay.pk)
        return replay


def request_many(actor: Actor, case_ids: list[int], reason: object) -> list[tuple[int, str]]:
    """Bulk replay: (case id, replay id or the refusal) for each case, each on its own."""
    results = []
    for case_id in case_ids:
        try:
            results.append((case_id, str(request(actor, case_id, reason).pk)))
        except (Conflict, ExceptionCase.DoesNotExist) as exc:
            results.append((case_id, f"refused: {exc}"))
    return results


def approve(actor: Actor, replay_id: object) -> Replay:
    return _decide(actor, replay_id, approve=True, reason="")


def reject(actor: Actor, replay_id: object, reason: object) -> Replay:
    return _decide(actor, replay_id, approve=False, reason=text(reason, "reason"))


def _decide(actor: Actor, replay_id: object, *, approve: bool, reason: str) -> Replay:
    actor.require("operate")
    with transaction.atomic():
        replay = Replay.objects.select_for_update().select_related("transaction").get(pk=replay_id)
        if replay.status != ReplayStatus.AWAITING_APPROVAL:
            raise Conflict(f"Replay {replay.pk} is {replay.status}: there is nothing to decide.")
        if actor.name == replay.requested_by_name:
            raise NotAllowed("A replay needs a second operator: you cannot decide your own.")
        before = {"status": replay.status}
        if approve and stage_done(replay.transaction, replay.stage_id):
            approve, reason = False, "the stage has already succeeded since the request"
        replay.status = ReplayStatus.REQUESTED if approve else ReplayStatus.REJECTED
        replay.decided_by, replay.decided_by_name = actor.user, actor.name
        replay.decided_at = timezone.now()
        if not approve:
            replay.finished_at, replay.last_error = replay.decided_at, reason
        replay.save()
        audit.record(
            actor,
            "replay_approved" if approve else "replay_rejected",
            replay,
            before=before,
            after={"status": replay.status},
            reason=reason,
        )
        if approve:
            enqueue(replay.pk)
        return replay


def parse_id(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Invalid(f"{value!r} is not a replay id.") from None
