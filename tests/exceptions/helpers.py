"""Cases for the exception tests, made the way production makes them: events in, intake run."""

from datetime import UTC, datetime, timedelta

from exceptions import intake
from exceptions.models import ExceptionCase
from tests.dashboards.helpers import report, stamp
from tests.tracking.factories import event

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def billing(cid: str, stage: str, status: str, hours: float = 0, **extra) -> dict:
    extra.setdefault("occurred_at", stamp(T0 + timedelta(hours=hours)))
    return event(stage, status, correlation_id=cid, journey="billing", **extra)


def failure(cid: str, stage: str = "invoice_generated", hours: float = 1, **extra) -> dict:
    extra.setdefault("error", {"code": "ERP-500", "message": "ERP timed out"})
    return billing(cid, stage, "failed", hours, **extra)


def failed_case(
    client, cid: str = "SOW-1", amount: str = "1200.00", stage: str = "invoice_generated", **extra
) -> ExceptionCase:
    """A transaction whose ``stage`` failed, and the case intake opened for it."""
    report(
        client,
        billing(cid, "work_approved", "succeeded", 0, amount=amount, currency="USD", **extra),
        failure(cid, stage),
    )
    intake.consume()
    return ExceptionCase.objects.get(correlation_id=cid, stage__slug=stage)
