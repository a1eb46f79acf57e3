"""Cases from the ledger's outbox: open on a failure or a stuck stage, bump repeats, and
resolve by themselves when the stage later succeeds or the transaction moves on.

The consumer claims a batch of unprocessed ``StatusChange`` rows (``SKIP LOCKED``, so
workers share the work) and marks them processed in the same database transaction as the
cases it writes: a crash leaves the batch unprocessed, and a second run finds it claimed.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from dashboards.fx import Rates
from tracking.models import Event, Flow, StatusChange, Transaction

from . import alerts, case_records
from .models import (
    LIVE_STATUSES,
    PENDING_REPLAYS,
    CaseKind,
    ExceptionCase,
    Replay,
)
from .progress import stage_done, stage_slug, waiting_stage_id
from .replay import settling
from .routing import Router

BATCH = 500


@dataclass
class IntakeResult:
    changes: int = 0
    opened: int = 0
    bumped: int = 0
    resolved: int = 0


def consume(batch: int = BATCH, now: datetime | None = None) -> IntakeResult:
    """Process every unprocessed status change, ``batch`` per database transaction."""
    total = IntakeResult()
    while True:
        with transaction.atomic():
            changes = list(
                StatusChange.objects.filter(processed=None)
                .order_by("id")
                .select_for_update(skip_locked=True)[:batch]
            )
            if not changes:
                return total
            result = _Batch(changes, now or timezone.now()).run()
            StatusChange.objects.filter(id__in=[c.id for c in changes]).update(
                processed=now or timezone.now()
            )
        for name in ("changes", "opened", "bumped", "resolved"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if len(changes) < batch:
            return total


class _Batch:
    def __init__(self, changes: list[StatusChange], now: datetime) -> None:
        self.changes = changes
        self.now = now
        self.result = IntakeResult(changes=len(changes))
        txn_ids = {c.transaction_id for c in changes}
        self.txns = {
            t.id: t for t in Transaction.objects.filter(id__in=txn_ids).select_related("state")
        }
        # Event ids are unique per flow, so an event is found by its transaction and id.
        event_ids = {c.event_id for c in changes if c.event_id}
        self.events = {
            (e["transaction_id"], e["event_id"]): e
            for e in Event.objects.filter(
                transaction_id__in=txn_ids, event_id__in=event_ids
            ).values("transaction_id", "event_id", "status", "flow_id", "occurred_at")
        }
        self.live: dict[tuple[int, int], ExceptionCase] = {
            (c.transaction_id, c.stage_id): c
            for c in ExceptionCase.objects.filter(
                # The ledger's own cases: a break's case settles with its break.
                transaction_id__in=txn_ids,
                status__in=LIVE_STATUSES,
                break_key="",
            )
        }
        self.replays = list(
            Replay.objects.filter(transaction_id__in=txn_ids, status__in=PENDING_REPLAYS)
        )
        self.new: list[ExceptionCase] = []
        self.bumped: dict[int, ExceptionCase] = {}
        self.entries: list = []
        self.resolved_now: list[ExceptionCase] = []

    def run(self) -> IntakeResult:
        for change in self.changes:
            if change.transaction_id not in self.txns or change.stage_id is None:
                continue
            if change.to_status == "failed":
                self._failed(change)
                self.entries += settling.on_failed_again(self.replays, change, self.now)
            elif change.to_status == "stuck":
                self._stuck(change)
        self._write_new()
        self._reconcile()
        ExceptionCase.objects.bulk_update(
            list(self.bumped.values()),
            ["occurrences", "last_seen_at", "kind", "error_code", "error_message", "event_id"],
        )
        AuditEntry.objects.bulk_create(self.entries)
        # In this same transaction: the alerts go out if and only if the change commits.
        alerts.on_opened(self.new, self.now)
        alerts.on_resolved(self.resolved_now, self.now)
        return self.result

    # --- opening and bumping -------------------------------------------------------------
    def _failed(self, change: StatusChange) -> None:
        case = self.live.get((change.transaction_id, change.stage_id))
        if case is not None:
            case.kind = CaseKind.FAILED
            case.error_code, case.error_message = change.error_code, change.error_message
            case.event_id = change.event_id or case.event_id
            self._bump(case, change)
            return
        event = self.events.get((change.transaction_id, change.event_id), {})
        self._open(
            change, change.stage_id, CaseKind.FAILED, event.get("flow_id"), event.get("occurred_at")
        )

    def _stuck(self, change: StatusChange) -> None:
        event = self.events.get((change.transaction_id, change.event_id), {})
        stage_id = waiting_stage_id(
            change.journey_id, change.stage_id, event.get("status") == "succeeded"
        )
        case = self.live.get((change.transaction_id, stage_id))
        if case is not None:
            self._bump(case, change)
            return
        # Stuck since the deadline it missed, not since the sweep noticed.
        self._open(
            change,
            stage_id,
            CaseKind.STUCK,
            None,
            self.txns[change.transaction_id].next_deadline_at,
        )

    def _bump(self, case: ExceptionCase, change: StatusChange) -> None:
        case.occurrences += 1
        case.last_seen_at = max(case.last_seen_at, change.changed_at)
        if case.pk is not None:
            self.bumped[case.pk] = case
            self.result.bumped += 1

    def _open(
        self,
        change: StatusChange,
        stage_id: int,
        kind: str,
        flow_id: int | None,
        since: datetime | None,
    ) -> None:
        txn = self.txns[change.transaction_id]
        flow_id = flow_id or txn.flow_id
        case = case_records.new_case(change, txn, stage_id, kind, flow_id, self.rates, since)
        flow = self.flows.get(flow_id) if flow_id else None
        route = self.router.route(
            case, flow.owner_team if flow else "", stage_slug(txn.journey_id, stage_id)
        )
        case.team, case.owner_id = route.team, route.owner_id
        case._route = route
        self.live[(txn.id, stage_id)] = case
        self.new.append(case)

    def _write_new(self) -> None:
        if not self.new:
            return
        ExceptionCase.objects.bulk_create(self.new)
        self.result.opened += len(self.new)
        for case in self.new:
            self.entries += case_records.opening_entries(case)

    # --- resolving -------------------------------------------------------------------------
    def _reconcile(self) -> None:
        by_txn: dict[int, list[ExceptionCase]] = defaultdict(list)
        for (txn_id, _), case in self.live.items():
            by_txn[txn_id].append(case)
        resolved = []
        for txn_id, cases in by_txn.items():
            txn = self.txns.get(txn_id)
            if txn is None:
                continue
            for case in cases:
                why = settled(case, txn)
                if why is None:
                    continue
                self.entries.append(case_records.resolve(case, why, self.now))
                resolved.append(case)
                self.bumped.pop(case.pk, None)
        if resolved:
            ExceptionCase.objects.bulk_update(resolved, case_records.RESOLVED_FIELDS)
            self.result.resolved += len(resolved)
            self.resolved_now = resolved
        self.entries += settling.on_stage_done(self.replays, self.txns, self.now)

    # --- context, loaded once and only when a case is opened ---------------------------
    @cached_property
    def rates(self) -> Rates:
        return Rates.load()

    @cached_property
    def router(self) -> Router:
        return Router()

    @cached_property
    def flows(self) -> dict[int, Flow]:
        return {f.id: f for f in Flow.objects.all()}


def settled(case: ExceptionCase, txn: Transaction) -> str | None:
    """Why a live case no longer stands, or None while it does."""
    slug = stage_slug(case.journey_id, case.stage_id)
    if stage_done(txn, case.stage_id):
        return f"Resolved by itself: {slug} succeeded (or a later stage did)."
    if case.kind == CaseKind.STUCK and txn.status != "stuck":
        return f"Resolved by itself: the flow reported progress ({txn.status}) after the wait."
    if case.kind == CaseKind.STUCK:
        waiting = waiting_stage_id(
            txn.journey_id, txn.current_stage_id, txn.stage_status == "succeeded"
        )
        if waiting != case.stage_id:
            return "Resolved by itself: the transaction moved on to another stage."
    return None
