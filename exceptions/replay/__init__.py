"""Replays: asking a flow to run one stage of one transaction again, safely.

Never twice: one pending replay per transaction + stage (a partial unique index), one POST
per attempt (a worker claims the replay before sending), and the replay id as the
``Idempotency-Key`` so the flow can recognise a resend. Never on something already done:
refused, and withdrawn before sending, once the stage has succeeded. Never unaudited:
every request, decision and outcome is an audit entry. Above
``REPLAY_APPROVAL_THRESHOLD`` a second operator must approve.

The rules live by job: ``asking`` (judge, request, approve, reject), ``sending`` (the signed
POST, retries, expiry), ``settling`` (what the flow's later reports mean for a replay) and
``queue`` (the Celery task that sends). Callers use the names below.
"""

from .asking import (
    PENDING,
    Verdict,
    approve,
    judge,
    parse_id,
    pending_by_stage,
    preview,
    reject,
    request,
    request_many,
)
from .sending import Attempt, backoff, due, expire_unconfirmed, payload, send

__all__ = [
    "PENDING",
    "Attempt",
    "Verdict",
    "approve",
    "backoff",
    "due",
    "expire_unconfirmed",
    "judge",
    "parse_id",
    "payload",
    "pending_by_stage",
    "preview",
    "reject",
    "request",
    "request_many",
    "send",
]
