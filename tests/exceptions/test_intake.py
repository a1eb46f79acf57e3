"""Cases open by themselves on a failure or a stuck stage, count repeats, and close by
themselves when the stage later succeeds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from exceptions import intake
from exceptions.models import CaseKind, CaseStatus, ExceptionCase
from tracking import sweep
from tracking.models import StatusChange

from ..dashboards.helpers import report
from .helpers import billing, failed_case, failure

pytestmark = pytest.mark.django_db


def test_a_failed_event_opens_one_case_with_what_ops_need(ingest_client, flow):
    case = failed_case(ingest_client, "SOW-1", amount="1200.00")

    assert case.kind == CaseKind.FAILED
    assert case.status == CaseStatus.OPEN
    assert (case.error_code, case.error_message) == ("ERP-500", "ERP timed out")
    assert case.amount == 1200 and case.flow == flow
    assert case.team == "billing"  # the flow's owner team: no rule matched
    assert case.occurrences == 1
    assert StatusChange.objects.filter(processed=None).count() == 0
    actions = list(AuditEntry.objects.filter(case_id=case.pk).values_list("action", "actor_name"))
    assert actions == [("open", "system"), ("route", "system")]


def test_repeats_bump_the_same_case_instead_of_opening_another(ingest_client, flow):
    case = failed_case(ingest_client, "SOW-1")
    report(ingest_client, failure("SOW-1", hours=2, error={"code": "ERP-409"}))
    report(ingest_client, failure("SOW-1", hours=3))
    intake.consume()

    assert ExceptionCase.objects.filter(correlation_id="SOW-1").count() == 1
    case.refresh_from_db()
    assert case.occurrences == 3
    assert case.error_code == "ERP-500"  # the latest failure's code


def test_running_intake_twice_changes_nothing(ingest_client, flow):
    failed_case(ingest_client, "SOW-1")
    before = list(ExceptionCase.objects.values("id", "occurrences", "status"))
    assert intake.consume().changes == 0
    assert list(ExceptionCase.objects.values("id", "occurrences", "status")) == before


def test_the_case_resolves_itself_when_the_stage_succeeds(ingest_client, flow):
    case = failed_case(ingest_client, "SOW-1")
    report(ingest_client, billing("SOW-1", "invoice_generated", "succeeded", 4))
    intake.consume()

    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.resolved_by == "system"
    assert "invoice_generated succeeded" in case.resolution
    last = AuditEntry.objects.filter(case_id=case.pk).order_by("-id").first()
    assert (last.action, last.actor_name, last.after) == (
        "resolve",
        "system",
        {"status": "resolved"},
    )


def test_after_resolving_a_new_failure_opens_a_new_case(ingest_client, flow):
    first = failed_case(ingest_client, "SOW-1", stage="invoice_generated")
    report(
        ingest_client,
        billing("SOW-1", "invoice_generated", "succeeded", 4),
        failure("SOW-1", "invoice_posted", hours=5),
    )
    intake.consume()

    first.refresh_from_db()
    assert first.status == CaseStatus.RESOLVED
    second = ExceptionCase.objects.get(correlation_id="SOW-1", stage__slug="invoice_posted")
    assert second.status == CaseStatus.OPEN


def test_a_stuck_transaction_opens_a_case_on_the_stage_it_waits_for(ingest_client, flow):
    now = timezone.now()
    report(
        ingest_client,
        billing(
            "SOW-9", "work_approved", "succeeded", 0, occurred_at=_iso(now - timedelta(days=3))
        ),
    )
    assert sweep.sweep().marked == 1
    intake.consume()

    case = ExceptionCase.objects.get(correlation_id="SOW-9")
    assert case.kind == CaseKind.STUCK
    assert case.stage.slug == "invoice_generated"  # work_approved succeeded; the next is late

    # The flow reports progress: the stuck case closes by itself.
    report(
        ingest_client,
        billing("SOW-9", "invoice_generated", "succeeded", 0, occurred_at=_iso(now)),
    )
    intake.consume()
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED


def test_a_failure_while_stuck_turns_the_case_into_a_failure(ingest_client, flow):
    now = timezone.now()
    report(
        ingest_client,
        billing(
            "SOW-9", "work_approved", "succeeded", 0, occurred_at=_iso(now - timedelta(days=3))
        ),
    )
    sweep.sweep()
    intake.consume()
    report(
        ingest_client,
        failure("SOW-9", "invoice_generated", occurred_at=_iso(now), error={"code": "BAD-RATE"}),
    )
    intake.consume()

    case = ExceptionCase.objects.get(correlation_id="SOW-9")
    assert (case.kind, case.status, case.error_code) == ("failed", "open", "BAD-RATE")
    assert case.occurrences == 2


def test_snoozed_and_ignored_cases_absorb_repeats(ingest_client, flow, operator):
    from exceptions import actions
    from exceptions.actors import Actor

    case = failed_case(ingest_client, "SOW-1")
    actions.ignore(Actor.of(operator), case.pk, "known ERP outage")
    report(ingest_client, failure("SOW-1", hours=2))
    intake.consume()

    assert ExceptionCase.objects.filter(correlation_id="SOW-1").count() == 1
    case.refresh_from_db()
    assert (case.status, case.occurrences) == ("ignored", 2)


def test_amounts_are_converted_to_the_reporting_currency(ingest_client, flow):
    from dashboards.models import FxRate

    FxRate.objects.create(currency="EUR", date="2026-01-01", rate="1.10")
    report(
        ingest_client,
        billing("SOW-E", "work_approved", "succeeded", 0, amount="1000.00", currency="EUR"),
        failure("SOW-E"),
    )
    intake.consume()
    case = ExceptionCase.objects.get(correlation_id="SOW-E")
    assert (case.amount, case.original_amount, case.original_currency) == (1100, 1000, "EUR")


def test_a_case_is_dated_from_the_failure_not_from_when_intake_read_it(ingest_client, flow):
    # A month of history loaded at once, or a report that arrives late: the case must be as
    # old as the failure, or the ranking by amount x age puts old money last.
    now = timezone.now()
    failed_at = now - timedelta(days=12, hours=5)
    report(
        ingest_client,
        billing("SOW-OLD", "work_approved", "succeeded", 0, occurred_at=_iso(failed_at - hours(3))),
        failure("SOW-OLD", occurred_at=_iso(failed_at)),
    )
    intake.consume()

    case = ExceptionCase.objects.get(correlation_id="SOW-OLD")
    assert case.opened_at == failed_at
    assert case.last_seen_at >= case.opened_at
    opening = AuditEntry.objects.get(case_id=case.pk, action="open")
    assert opening.at == case.opened_at


def test_a_stuck_case_is_dated_from_the_deadline_it_missed(ingest_client, flow):
    now = timezone.now()
    approved = now - timedelta(days=5)
    report(
        ingest_client,
        billing("SOW-LATE", "work_approved", "succeeded", 0, occurred_at=_iso(approved)),
    )
    sweep.sweep()
    intake.consume()

    case = ExceptionCase.objects.get(correlation_id="SOW-LATE")
    # work_approved -> invoice_generated is expected within 2 days (the seeded journey).
    assert case.opened_at == approved + timedelta(days=2)


def test_a_failure_reported_ahead_of_our_clock_opens_a_case_dated_now(ingest_client, flow):
    now = timezone.now()
    report(
        ingest_client,
        billing("SOW-SKEW", "work_approved", "succeeded", 0, occurred_at=_iso(now)),
        failure("SOW-SKEW", occurred_at=_iso(now + timedelta(minutes=2))),
    )
    intake.consume()

    case = ExceptionCase.objects.get(correlation_id="SOW-SKEW")
    assert now - timedelta(minutes=1) < case.opened_at <= timezone.now()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")
