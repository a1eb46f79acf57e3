"""How a case is written: opened from a status change or a reconciliation break (with its
audit entries, opening and routing), and resolved by itself when the ledger shows the stage
done or the break cleared."""

from datetime import datetime

from audit import log as audit
from audit.models import AuditEntry
from dashboards.fx import Rates
from dashboards.models import ContractBreak
from tracking.models import StatusChange, Transaction

from .actors import SYSTEM, rule_actor
from .models import CaseKind, CaseStatus, ExceptionCase
from .progress import stage_slug

# What a resolution writes, with what a bump of the same batch may have changed.
RESOLVED_FIELDS = [
    "status",
    "resolved_at",
    "resolved_by",
    "resolution",
    "occurrences",
    "last_seen_at",
    "kind",
    "error_code",
    "error_message",
    "event_id",
]


def new_case(
    change: StatusChange,
    txn: Transaction,
    stage_id: int,
    kind: str,
    flow_id: int | None,
    rates: Rates,
    since: datetime | None = None,
) -> ExceptionCase:
    """The case a failed or stuck stage opens, priced in the reporting currency at the
    rate of the day it happened; not yet routed or saved.

    ``since``: when the stage failed (the failed event's time) or missed its deadline. The
    case is dated from then, not from when intake read the change: a report that arrives
    late, or a history loaded at once, must not make old money look new in the ranking by
    amount x age. Never later than the change, so a flow's clock ahead of ours cannot date
    a case in the future.
    """
    failed = kind == CaseKind.FAILED
    opened = min(since, change.changed_at) if since is not None else change.changed_at
    return ExceptionCase(
        transaction_id=txn.id,
        correlation_id=txn.correlation_id,
        journey_id=txn.journey_id,
        stage_id=stage_id,
        flow_id=flow_id,
        kind=kind,
        error_code=change.error_code if failed else "",
        error_message=change.error_message
        if failed
        else "No report of this stage by its deadline.",
        event_id=change.event_id,
        region=txn.region,
        business_unit=txn.business_unit,
        original_amount=txn.amount,
        original_currency=txn.currency,
        amount=rates.convert(txn.amount, txn.currency, opened.date()),
        opened_at=opened,
        last_seen_at=change.changed_at,
    )


def new_break_case(brk: ContractBreak, txn: Transaction, stage_id: int, key: str) -> ExceptionCase:
    """The case a reconciliation break opens, of the break's kind, worth its amount (in the
    reporting currency), dated from when the break began; not yet routed or saved."""
    return ExceptionCase(
        transaction_id=txn.id,
        correlation_id=txn.correlation_id,
        journey_id=txn.journey_id,
        stage_id=stage_id,
        flow_id=txn.flow_id,
        kind=brk.kind,
        contract_break=brk,
        break_key=key,
        # Ownership rules match on the error code: a rule can route a kind of break.
        error_code=brk.kind,
        error_message=brk.detail,
        event_id=txn.stage_event_id,
        region=txn.region,
        business_unit=txn.business_unit,
        original_amount=brk.amount,
        original_currency=brk.currency,
        amount=brk.amount_reporting,
        opened_at=brk.since,
        last_seen_at=brk.found_at,
    )


def opening_entries(case: ExceptionCase) -> list[AuditEntry]:
    """The audit entries of a case just opened: its opening, and who it was routed to."""
    route = case._route
    actor = SYSTEM if route.rule is None else rule_actor(route.rule.pk)
    owner = route.rule.owner.get_username() if route.rule and route.rule.owner else None
    return [
        audit.entry(
            SYSTEM,
            "open",
            case,
            after={
                "kind": case.kind,
                "stage": stage_slug(case.journey_id, case.stage_id),
                "error_code": case.error_code,
                "amount": case.amount,
            },
            at=case.opened_at,
        ),
        audit.entry(
            actor,
            "route",
            case,
            after={"team": case.team, "owner": owner},
            reason=route.why,
            at=case.opened_at,
        ),
    ]


def resolve(case: ExceptionCase, why: str, now: datetime) -> AuditEntry:
    """Resolve a case by itself (the caller saves it); the audit entry that says why."""
    before = {"status": case.status}
    case.status = CaseStatus.RESOLVED
    case.resolved_at, case.resolved_by, case.resolution = now, "system", why
    return audit.entry(
        SYSTEM, "resolve", case, before=before, after={"status": case.status}, reason=why, at=now
    )
