"""GET /metrics in process: ingest counters per flow and outcome, request latency, the
token, and Celery task metrics."""

import os
from pathlib import Path

import pytest
from prometheus_client import values

from c2c_ops.celery import app as celery_app
from tests.tracking.factories import event, pb_export

from .prometheus_scrape import parse, total, value

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TRACE = "5b8efff798038103d269b633813fc60c"
PB = "application/x-protobuf"


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def spans_total(samples, outcome: str) -> float:
    return value(samples, "c2c_ingest_spans_total", flow="psa-to-billing", outcome=outcome)


def events_total(samples, outcome: str) -> float:
    return value(samples, "c2c_ingest_events_total", flow="psa-to-billing", outcome=outcome)


def span(span_id: str, **attrs) -> dict:
    return {"trace_id": TRACE, "span_id": span_id, "attributes": attrs}


def test_metrics_are_written_to_files_outside_the_checkout(client):
    # Multiprocess mode: what gunicorn's workers need, and what the tests exercise.
    assert values.ValueClass.__name__ == "MmapedValue"
    client.get("/healthz")
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert not directory.is_relative_to(ROOT)
    assert list(directory.glob("histogram_*.db"))


def test_events_count_accepted_duplicates_and_rejected_items(client, ingest_client):
    first = event("work_approved", event_id="e-1")
    assert ingest_client.post("/api/v1/events", first, format="json").status_code == 202
    before = scrape(client)
    batch = [first, event("work_approved", event_id="e-2"), {"event_id": "e-3"}]
    response = ingest_client.post("/api/v1/events", batch, format="json")
    assert (response.json()["accepted"], response.json()["duplicates"]) == (1, 1)
    after = scrape(client)
    rises = {
        o: events_total(after, o) - events_total(before, o)
        for o in ("accepted", "duplicate", "rejected")
    }
    assert rises == {"accepted": 1, "duplicate": 1, "rejected": 1}


def test_a_resent_span_counts_as_a_duplicate(client, ingest_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {ingest_key}"}
    before = scrape(client)
    first = pb_export([span("eee19b7ec3c1b174"), span("eee19b7ec3c1b175")])
    assert client.post("/v1/traces", first, content_type=PB, **auth).status_code == 200
    # The retry: one span stored already, one new, one sent twice, one invalid.
    again = pb_export(
        [
            span("eee19b7ec3c1b174"),
            span("eee19b7ec3c1b176"),
            span("eee19b7ec3c1b176"),
            {"trace_id": "0" * 32, "span_id": "eee19b7ec3c1b177"},
        ]
    )
    response = client.post("/v1/traces", again, content_type=PB, **auth)
    assert response.status_code == 200
    after = scrape(client)
    rises = {
        o: spans_total(after, o) - spans_total(before, o)
        for o in ("accepted", "duplicate", "rejected")
    }
    assert rises == {"accepted": 3, "duplicate": 2, "rejected": 1}


def test_a_refused_export_counts_no_span(client):
    before = scrape(client)
    body = pb_export([span("eee19b7ec3c1b174")])
    assert client.post("/v1/traces", body, content_type=PB).status_code == 401
    after = scrape(client)
    assert total(after, "c2c_ingest_spans_total") == total(before, "c2c_ingest_spans_total")


def test_requests_are_timed_by_route_name_and_status_class(client):
    def count(samples, route: str, status: str) -> float:
        name = "c2c_http_request_duration_seconds_count"
        return value(samples, name, method="GET", route=route, status=status)

    before = scrape(client)
    client.get("/healthz")
    client.get("/no/such/page/12345")
    client.get("/api/v1/transactions/SOW-1")  # signed out: 401/403, named by its pattern
    after = scrape(client)
    assert count(after, "healthz", "2xx") - count(before, "healthz", "2xx") == 1
    assert count(after, "unmatched", "4xx") - count(before, "unmatched", "4xx") == 1
    assert not any("SOW-1" in dict(labels).get("route", "") for _, labels in after)
    assert total(after, "c2c_http_request_duration_seconds_count", route="metrics") == 0


def test_the_token_is_required_when_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-tokeN")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token").status_code == 401
    scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")


def test_metrics_is_not_in_the_api_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert not any(path.strip("/") == "metrics" for path in schema["paths"])


@celery_app.task(name="tests.prometheus.works")
def _works() -> int:
    return 1


@celery_app.task(name="tests.prometheus.fails")
def _fails() -> None:
    raise RuntimeError("on purpose")


def test_task_durations_and_failures_are_recorded(client):
    before = scrape(client)
    _works.apply()
    _fails.apply()
    after = scrape(client)

    def rise(name: str, task: str) -> float:
        return value(after, name, task=task) - value(before, name, task=task)

    assert rise("c2c_task_duration_seconds_count", "tests.prometheus.works") == 1
    assert rise("c2c_task_duration_seconds_count", "tests.prometheus.fails") == 1
    assert rise("c2c_task_failures_total", "tests.prometheus.fails") == 1
    assert rise("c2c_task_failures_total", "tests.prometheus.works") == 0


def test_callbacks_sharing_a_commit_are_counted(client, ingest_client):
    before = scrape(client)
    for n in range(3):
        body = event("work_approved", event_id=f"shared-{n}")
        assert ingest_client.post("/api/v1/events", body, format="json").status_code == 202
    after = scrape(client)
    # One at a time here: three commits of one request each.
    assert (
        total(after, "c2c_ingest_commit_requests_count")
        - total(before, "c2c_ingest_commit_requests_count")
        == 3
    )
    assert (
        value(after, "c2c_ingest_commit_requests_bucket", le="1.0")
        - value(before, "c2c_ingest_commit_requests_bucket", le="1.0")
        == 3
    )
