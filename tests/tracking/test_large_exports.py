"""An export of many traces lands whole, however few lock slots the database has: it is
written in parts, and a retry after a failed part counts nothing twice."""

import threading
import time

import httpx
import pytest
from django.db import connection
from django.test import override_settings

from tests.tracking.factories import pb_export
from tracking.models import Event, Span, Transaction

pytestmark = pytest.mark.django_db(transaction=True)


def export(count: int, tag: str) -> bytes:
    end = time.time_ns() - 10**9
    return pb_export(
        [
            {
                "trace_id": f"{tag}{i:0{32 - len(tag)}x}",
                "span_id": f"{i + 1:016x}",
                "start": end - 10**8,
                "end": end,
                "attributes": {
                    "c2c.correlation_id": f"BIG-{tag}-{i}",
                    "c2c.journey": "billing",
                    "c2c.stage": "work_approved",
                },
            }
            for i in range(count)
        ]
    )


def lock_slots() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_locks_per_transaction')::int"
            " * current_setting('max_connections')::int"
        )
        return cursor.fetchone()[0]


def test_an_export_of_more_traces_than_lock_slots_lands(client, ingest_key):
    # The lock table takes max_locks_per_transaction x max_connections, and PostgreSQL lends
    # it some spare shared memory: three times that ran out every time in one transaction.
    count = 3 * lock_slots()
    response = client.post(
        "/v1/traces",
        export(count, "a"),
        content_type="application/x-protobuf",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    assert response.status_code == 200, response.content
    assert Span.objects.count() == Event.objects.count() == Transaction.objects.count() == count


@override_settings(SPAN_WRITE_TRACES=3)
def test_a_retry_after_a_failed_part_counts_each_span_once(client, ingest_key, monkeypatch):
    from tracking.ingest import spans

    real_write, calls = spans._write, []

    def fail_third_part(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise spans.ledger.ConcurrentWrite("the database went away mid-export")
        return real_write(*args, **kwargs)

    body = export(10, "b")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ingest_key}"}
    monkeypatch.setattr(spans, "_write", fail_third_part)
    monkeypatch.setattr(spans.ledger, "run_atomic", lambda work: work())
    first = client.post("/v1/traces", body, content_type="application/x-protobuf", **headers)
    assert first.status_code == 503
    assert Span.objects.count() == 6  # the two parts before the failure are stored
    monkeypatch.undo()
    again = client.post("/v1/traces", body, content_type="application/x-protobuf", **headers)
    assert again.status_code == 200
    assert Span.objects.count() == Event.objects.count() == 10


def test_two_large_exports_at_once_both_land(live_server, ingest_key):
    count = 3 * lock_slots() // 2  # each alone fitted; together they did not
    answers: list[int] = []

    def send(tag: str) -> None:
        response = httpx.post(
            f"{live_server.url}/v1/traces",
            content=export(count, tag),
            headers={
                "Authorization": f"Bearer {ingest_key}",
                "Content-Type": "application/x-protobuf",
            },
            timeout=120,
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=send, args=(tag,)) for tag in ("c", "d")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert Transaction.objects.count() == 2 * count
