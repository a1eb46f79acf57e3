"""Replays: asking a flow to run one stage of one transaction again, safely.

Never twice: one pending replay per transaction + stage (a partial unique index), one POST
per attempt (a worker claims the replay before sending), and the replay id as the
``Idempotency-Key`` so the flow can recognise a resend. Never on something already done:
refused, and withdrawn before sending, once the stage has succeeded. Never unaudited:
every request, decision and outcome is an audit entry. Above
``REPLAY_APPROVAL_THRESHOLD`` a second operator must approve.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from tracking import journeys
from tracking.models import Flow

from . import audit, signing
from .actions import Conflict, Invalid, _text
from .actors import SYSTEM, Actor, NotAllowed
from .intake import stage_done
from .models import LIVE_STATUSES, PENDING_REPLAYS, ExceptionCase, Replay, ReplayStatus

MAX_BACKOFF = 900.0
RATE_WINDOW = timedelta(minutes=1)


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
    text = _text(reason, "reason")
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
                    reason=text,
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
            reason=text,
        )
        if status == ReplayStatus.REQUESTED:
            _enqueue(replay.pk)
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
    return _decide(actor, replay_id, approve=False, reason=_text(reason, "reason"))


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
            _enqueue(replay.pk)
        return replay


def _enqueue(replay_id) -> None:
    from .tasks import send_replay

    # robust: with the broker down, the replay is still recorded and the request still
    # answers; beat's housekeeping sends due replays that no message announced.
    transaction.on_commit(lambda: send_replay.delay(str(replay_id)), robust=True)


# --- Sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What a send did: ``done`` (nothing more to do) or retry after ``retry_in`` seconds."""

    done: bool
    retry_in: float = 0.0
    outcome: str = ""


def payload(replay: Replay) -> bytes:
    info = journeys.by_id(replay.transaction.journey_id)
    stage = info.stage_by_id(replay.stage_id) if info else None
    return orjson.dumps(
        {
            "replay_id": str(replay.pk),
            "correlation_id": replay.correlation_id,
            "journey": info.slug if info else "",
            "stage": stage.slug if stage else "",
            "reason": replay.reason,
            "requested_by": replay.requested_by_name,
            "requested_at": replay.requested_at.isoformat().replace("+00:00", "Z"),
            "replay_of_event_id": replay.replay_of_event_id,
        }
    )


def send(replay_id: object, now: datetime | None = None) -> Attempt:
    """One attempt to deliver a replay. Safe to call twice, or in two workers at once."""
    claimed = _claim(replay_id, now or timezone.now())
    if isinstance(claimed, Attempt):
        return claimed
    replay, flow = claimed
    body = payload(replay)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(replay.pk),
        signing.HEADER: signing.sign(body, flow.replay_secret),
        "User-Agent": "c2c-ops-replay/1",
    }
    try:
        response = httpx.post(
            flow.replay_url,
            content=body,
            headers=headers,
            timeout=settings.REPLAY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return _settle(replay, None, f"{type(exc).__name__}: {exc}"[:500])
    return _settle(replay, response.status_code, response.text[:500])


def _claim(replay_id: object, now: datetime) -> tuple[Replay, Flow] | Attempt:
    with transaction.atomic():
        replay = (
            Replay.objects.select_for_update(of=("self",))
            .select_related("transaction")
            .filter(pk=replay_id)
            .first()
        )
        if replay is None or replay.status != ReplayStatus.REQUESTED:
            return Attempt(done=True, outcome="nothing to send")
        if replay.claimed_until and replay.claimed_until > now:
            return Attempt(done=True, outcome="another worker is sending it")
        if replay.next_attempt_at and replay.next_attempt_at > now:
            return Attempt(False, (replay.next_attempt_at - now).total_seconds(), "not due")
        if stage_done(replay.transaction, replay.stage_id):
            _finish(replay, ReplayStatus.REJECTED, "the stage succeeded before it was sent", now)
            return Attempt(done=True, outcome="rejected")
        # The flow's row serialises its senders, so the rate limit holds across workers.
        flow = Flow.objects.select_for_update().get(pk=replay.flow_id)
        recent = list(
            Replay.objects.filter(flow_id=flow.pk, dispatched_at__gt=now - RATE_WINDOW)
            .order_by("dispatched_at")
            .values_list("dispatched_at", flat=True)[: settings.REPLAY_RATE_PER_MINUTE]
        )
        if len(recent) >= settings.REPLAY_RATE_PER_MINUTE:
            wait = (recent[0] + RATE_WINDOW - now).total_seconds()
            return Attempt(False, max(wait, 0.5), "rate limited")
        replay.attempts += 1
        replay.dispatched_at = now
        replay.claimed_until = now + timedelta(seconds=settings.REPLAY_TIMEOUT_SECONDS * 3)
        replay.save(update_fields=["attempts", "dispatched_at", "claimed_until"])
        return replay, flow


def _settle(replay: Replay, status_code: int | None, detail: str) -> Attempt:
    now = timezone.now()
    with transaction.atomic():
        current = Replay.objects.select_for_update().get(pk=replay.pk)
        if current.status != ReplayStatus.REQUESTED or current.attempts != replay.attempts:
            return Attempt(done=True, outcome="settled elsewhere")
        current.response_status = status_code
        current.claimed_until = None
        if status_code is not None and 200 <= status_code < 300:
            current.status, current.sent_at, current.last_error = ReplayStatus.SENT, now, ""
            current.save()
            audit.record(
                SYSTEM,
                "replay_sent",
                current,
                before={"status": "requested"},
                after={"status": "sent", "http_status": status_code, "attempt": current.attempts},
            )
            return Attempt(done=True, outcome="sent")
        error = f"HTTP {status_code}: {detail}" if status_code else detail
        permanent = status_code is not None and 400 <= status_code < 500 and status_code != 429
        if permanent or current.attempts >= settings.REPLAY_MAX_ATTEMPTS:
            why = error if permanent else f"gave up after {current.attempts} attempts: {error}"
            _finish(current, ReplayStatus.FAILED, why, now)
            return Attempt(done=True, outcome="failed")
        delay = backoff(current.attempts)
        current.last_error = error
        current.next_attempt_at = now + timedelta(seconds=delay)
        current.save()
        return Attempt(False, delay, "retry")


def _finish(replay: Replay, status: str, why: str, now: datetime) -> None:
    before = {"status": replay.status}
    replay.status, replay.last_error, replay.finished_at = status, why, now
    replay.claimed_until = None
    replay.save()
    audit.record(
        SYSTEM, "replay_" + status, replay, before=before, after={"status": status}, reason=why
    )


def backoff(attempt: int) -> float:
    """Exponential with full jitter above half, so retries of many replays spread out."""
    base = min(settings.REPLAY_RETRY_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF)
    return base / 2 + random.uniform(0, base / 2)


def due(now: datetime | None = None, limit: int = 500) -> list[str]:
    """Replays to (re)send now: retries due, and claims of dead workers lapsed."""
    now = now or timezone.now()
    rows = Replay.objects.filter(status=ReplayStatus.REQUESTED).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )
    return [str(pk) for pk in rows.values_list("pk", flat=True)[:limit]]


def expire_unconfirmed(now: datetime | None = None) -> int:
    """Sent replays the flow never reported on fail after REPLAY_CONFIRM_SECONDS."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.REPLAY_CONFIRM_SECONDS)
    expired = 0
    with transaction.atomic():
        for replay in Replay.objects.select_for_update(skip_locked=True).filter(
            status=ReplayStatus.SENT, sent_at__lte=limit
        )[:500]:
            _finish(
                replay,
                ReplayStatus.FAILED,
                "the flow did not report the stage within "
                f"{settings.REPLAY_CONFIRM_SECONDS // 60} minutes of the replay",
                now,
            )
            expired += 1
    return expired


def parse_id(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Invalid(f"{value!r} is not a replay id.") from None
