"""GET /api/v1/transactions/<correlation_id>/spans: a transaction's trace, page by page."""

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from tests.conftest import session_client
from tests.tracking.factories import BASE, event
from tracking import ledger
from tracking.ingest.events import parse_event
from tracking.models import Span

pytestmark = pytest.mark.django_db


def spans_url(correlation_id: str) -> str:
    return f"/api/v1/transactions/{correlation_id}/spans"


def transaction(flow, correlation_id: str) -> None:
    item = parse_event(event("work_approved", correlation_id=correlation_id), flow.id, flow.slug)
    ledger.run_atomic(lambda: ledger.record([item]))


def span(correlation_id: str, span_id: str, start_ms: float, end_ms: float, **extra) -> Span:
    values = {
        "trace_id": "a" * 32,
        "span_id": span_id,
        "name": f"op {span_id}",
        "service_name": "billing-sync",
        "start_time": BASE + timedelta(milliseconds=start_ms),
        "end_time": BASE + timedelta(milliseconds=end_ms),
        "correlation_id": correlation_id,
        "received_at": BASE,
        **extra,
    }
    return Span(**values)


@pytest.fixture
def traced(flow):
    """SOW-T: a server span with an erroring client child; SOW-OTHER: a span of its own."""
    transaction(flow, "SOW-T")
    transaction(flow, "SOW-OTHER")
    Span.objects.bulk_create(
        [
            span("SOW-T", "00000000000000b2", 2, 14.5, parent_span_id="00000000000000a1",
                 kind=3, status_code=2, status_message="ERP said no",
                 attributes={"http.request.method": "POST", "retries": 2}),
            span("SOW-T", "00000000000000a1", 0, 20, kind=2, status_code=1),
            span("SOW-OTHER", "00000000000000c1", 1, 3, trace_id="c" * 32),
        ]
    )  # fmt: skip


def test_each_span_says_what_a_waterfall_needs(read_client, traced):
    response = read_client.get(spans_url("SOW-T"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [s["span_id"] for s in body["results"]] == ["00000000000000a1", "00000000000000b2"]
    child = body["results"][1]
    assert child == {
        "trace_id": "a" * 32,
        "span_id": "00000000000000b2",
        "parent_span_id": "00000000000000a1",
        "name": "op 00000000000000b2",
        "service": "billing-sync",
        "kind": "client",
        "start": child["start"],
        "end": child["end"],
        "duration_ms": 12.5,
        "status": "error",
        "status_message": "ERP said no",
        "attributes": {"http.request.method": "POST", "retries": 2},
    }
    assert parse_datetime(child["start"]) == BASE + timedelta(milliseconds=2)
    assert parse_datetime(child["end"]) == BASE + timedelta(milliseconds=14.5)
    root = body["results"][0]
    assert (root["kind"], root["status"], root["parent_span_id"]) == ("server", "ok", "")
    assert isinstance(root["duration_ms"], float) and root["duration_ms"] == 20.0


def test_pages_hold_every_span_once_in_start_order(read_client, flow):
    transaction(flow, "SOW-BIG")
    # Pairs that started in the same microsecond: the id orders them, no page drops one.
    Span.objects.bulk_create(
        span("SOW-BIG", f"{n:016x}", start_ms=n // 2, end_ms=n // 2 + 1) for n in range(11)
    )
    seen, url = [], spans_url("SOW-BIG") + "?page_size=3"
    while url:
        page = read_client.get(url).json()
        assert len(page["results"]) <= 3
        seen += [(s["start"], s["span_id"]) for s in page["results"]]
        url = page["next"]
    assert [span_id for _, span_id in seen] == [f"{n:016x}" for n in range(11)]
    assert seen == sorted(seen, key=lambda s: parse_datetime(s[0]))


def test_correlation_ids_with_slashes_list_their_spans(read_client, flow):
    transaction(flow, "SOW/2026/7")
    Span.objects.bulk_create([span("SOW/2026/7", "00000000000000d1", 0, 5)])
    listed = read_client.get(spans_url("SOW/2026/7")).json()["results"]
    assert [s["span_id"] for s in listed] == ["00000000000000d1"]
    # The detail of the same transaction still answers as the detail.
    detail = read_client.get("/api/v1/transactions/SOW/2026/7").json()
    assert detail["correlation_id"] == "SOW/2026/7" and detail["spans"]["count"] == 1


def test_a_transaction_without_spans_lists_none(read_client, flow):
    transaction(flow, "SOW-QUIET")
    body = read_client.get(spans_url("SOW-QUIET")).json()
    assert body["results"] == [] and body["next"] is None


def test_an_unknown_transaction_is_404_json(read_client, traced):
    response = read_client.get(spans_url("NOPE-1"))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "correlation ID" in response.json()["detail"]


def test_a_broken_cursor_is_404_and_a_bad_page_size_400(read_client, traced):
    assert read_client.get(spans_url("SOW-T") + "?cursor=garbage").status_code == 404
    assert read_client.get(spans_url("SOW-T") + "?page_size=abc").status_code == 400


@pytest.mark.parametrize("persona", ["viewer", "operator", "admin_user"])
def test_people_with_a_role_can_read_spans(request, persona, traced):
    client = session_client(request.getfixturevalue(persona))
    assert len(client.get(spans_url("SOW-T")).json()["results"]) == 2


def test_people_without_a_role_cannot(outsider, traced):
    assert session_client(outsider).get(spans_url("SOW-T")).status_code == 403


def test_anonymous_requests_are_401(client, traced):
    assert client.get(spans_url("SOW-T")).status_code == 401


def test_keys_without_the_read_scope_are_refused(ingest_client, traced):
    response = ingest_client.get(spans_url("SOW-T"))
    assert response.status_code == 403
    assert "read scope" in response.json()["detail"]


def test_unknown_ids_are_refused_before_they_are_looked_up(ingest_client, db):
    # A key without the read scope learns nothing, not even whether the transaction exists.
    assert ingest_client.get(spans_url("NOPE-1")).status_code == 403
