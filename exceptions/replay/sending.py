"""Sending a replay: one signed POST per attempt to the flow's replay URL, claimed first so
two workers never both send, retried with backoff, rate-limited per flow, and failed when
the flow never confirms."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import log as audit
from tracking import journeys
from tracking.models import Flow

from .. import signing
from ..actors import SYSTEM
from ..models import Replay, ReplayStatus
from ..progress import stage_done

MAX_BACKOFF = 900.0
RATE_WINDOW = timedelta(minutes=1)


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
