"""Cases from reconciliation breaks (``dashboards``' breaks outbox): a break opens a case of
its kind on the transaction and stage it concerns, routed by the ownership rules like any
case (its ``error_code`` is the break's kind, for rules to match); a changed break updates
its case's amount and detail; a cleared break resolves its case by itself.

Claimed like the ledger's outbox (``intake``): a batch of unprocessed rows, ``SKIP LOCKED``,
marked processed in the same database transaction as the cases it writes.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from dashboards.models import BreakChange, ContractBreak
from tracking import journeys
from tracking.models import Flow, Transaction

from . import alerts, case_records
from .models import LIVE_STATUSES, ExceptionCase
from .routing import Router

BATCH = 500


@dataclass
class BreakIntakeResult:
    changes: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0


def consume(batch: int = BATCH, now: datetime | None = None) -> BreakIntakeResult:
    total = BreakIntakeResult()
    while True:
        with transaction.atomic():
            changes = list(
                BreakChange.objects.filter(processed=None)
                .select_related("brk__contract", "brk__transaction")
                .order_by("id")
                .select_for_update(skip_locked=True, of=("self",))[:batch]
            )
            if not changes:
                return total
            result = _Batch(now or timezone.now()).run(changes)
            BreakChange.objects.filter(id__in=[c.id for c in changes]).update(
                processed=now or timezone.now()
            )
        for name in ("changes", "opened", "updated", "resolved"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if len(changes) < batch:
            return total


def break_key(brk: ContractBreak) -> str:
    return f"{brk.contract.key}|{brk.key}"


class _Batch:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.result = BreakIntakeResult()
        self.opened: list[ExceptionCase] = []
        self.resolved: list[ExceptionCase] = []
        self.entries: list = []

    def run(self, changes: list[BreakChange]) -> BreakIntakeResult:
        self.result.changes = len(changes)
        live = {
            c.break_key: c
            for c in ExceptionCase.objects.filter(
                break_key__in=[break_key(ch.brk) for ch in changes], status__in=LIVE_STATUSES
            )
        }
        for change in changes:
            key = break_key(change.brk)
            case = live.get(key)
            if change.change == BreakChange.OPENED and case is None:
                case = self._open(change.brk)
                if case is not None:
                    live[key] = case
            elif change.change == BreakChange.CHANGED and case is not None:
                self._update(case, change.brk)
            elif change.change == BreakChange.CLEARED and case is not None:
                why = f"Resolved by itself: the break cleared ({change.brk.detail})."
                self.entries.append(case_records.resolve(case, why, self.now))
                self.resolved.append(case)
                live.pop(key)
        ExceptionCase.objects.bulk_create(self.opened)
        for case in self.opened:
            self.entries += case_records.opening_entries(case)
        ExceptionCase.objects.bulk_update(self.resolved, case_records.RESOLVED_FIELDS)
        AuditEntry.objects.bulk_create(self.entries)
        # In this same transaction: the alerts go out if and only if the change commits.
        alerts.on_opened(self.opened, self.now)
        alerts.on_resolved(self.resolved, self.now)
        self.result.opened, self.result.resolved = len(self.opened), len(self.resolved)
        return self.result

    def _open(self, brk: ContractBreak) -> ExceptionCase | None:
        txn: Transaction | None = brk.transaction
        if txn is None:
            return None  # a transaction deleted since: nothing to act on
        info = journeys.by_id(txn.journey_id)
        stage = (info.by_slug.get(brk.stage) if info else None) or (
            info.stage_by_id(txn.current_stage_id) if info else None
        )
        if stage is None:
            return None
        case = case_records.new_break_case(brk, txn, stage.id, break_key(brk))
        flow = self.flows.get(txn.flow_id) if txn.flow_id else None
        route = self.router.route(case, flow.owner_team if flow else "", stage.slug)
        case.team, case.owner_id = route.team, route.owner_id
        case._route = route
        self.opened.append(case)
        return case

    def _update(self, case: ExceptionCase, brk: ContractBreak) -> None:
        case.amount = brk.amount_reporting
        case.original_amount, case.original_currency = brk.amount, brk.currency
        case.error_message = brk.detail
        case.last_seen_at = self.now
        case.save(
            update_fields=[
                "amount",
                "original_amount",
                "original_currency",
                "error_message",
                "last_seen_at",
                "updated_at",
            ]
        )
        self.result.updated += 1

    @cached_property
    def router(self) -> Router:
        return Router()

    @cached_property
    def flows(self) -> dict[int, Flow]:
        return {f.id: f for f in Flow.objects.all()}
