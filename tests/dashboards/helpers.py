"""Ledger scenarios for the metrics tests, written through the real events API."""

from datetime import UTC, datetime, timedelta

from tests.tracking.factories import event

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BILLING = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def report(client, *events: dict) -> None:
    response = client.post("/api/v1/events", list(events), format="json")
    assert response.status_code == 202, response.content
    assert response.json()["errors"] == [], response.json()


def step(cid: str, stage: str, when: datetime, status: str = "succeeded", **extra) -> dict:
    return event(
        stage, status, correlation_id=cid, occurred_at=stamp(when), journey="billing", **extra
    )


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
