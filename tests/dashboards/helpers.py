"""Ledger scenarios for the metrics tests, written through the real events API."""

from datetime import UTC, datetime, timedelta

import orjson
import plotly.graph_objects as go

from tests.tracking.factories import event

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# "Now" for tests whose ledger is dated the week of MONDAY: what they expect (the month-end
# cut-off above all) depends on how long ago that week was, so the clock stands still
# there (pytest.mark.time_machine(TODAY)) rather than moving on with the calendar.
TODAY = MONDAY + timedelta(days=18, hours=3)
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


def plotly_checked(figure: dict) -> dict:
    """The figure, after asserting that plotly's schema accepts it and would send it as is.

    Pages serialise their figures unchecked (``dashboards.charts.figures._figure``): this is
    the check a request skips. A misspelt property raises ValueError here.
    """
    assert orjson.loads(go.Figure(figure).to_json()) == figure
    return figure
