"""The backlog gauges of GET /metrics, read from the database at scrape time."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from c2c_ops.metrics import backlog
from exceptions.models import CaseStatus
from tests.exceptions.helpers import failed_case
from tracking.models import ChangedTransaction, DeadLetter, StatusChange

from .prometheus_scrape import parse, value

pytestmark = pytest.mark.django_db


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    return parse(response.content.decode())


def test_the_gauges_follow_the_rows(client, ingest_client, flow):
    empty = scrape(client)
    assert value(empty, "c2c_backlog_up") == 1
    assert value(empty, "c2c_outbox_pending") == 0
    assert value(empty, "c2c_outbox_oldest_age_seconds") == 0

    # A failure: an outbox row and a change-feed entry; intake claims the row, opens a case.
    case = failed_case(ingest_client, "SOW-1")
    assert StatusChange.objects.filter(processed=None).count() == 0
    pending = StatusChange.objects.order_by("id").last()
    now = timezone.now()
    StatusChange.objects.filter(id=pending.id).update(
        processed=None, changed_at=now - timedelta(minutes=10)
    )
    ChangedTransaction.objects.update(due_at=now - timedelta(minutes=5))
    ChangedTransaction.objects.create(
        transaction_id=case.transaction_id + 1000, due_at=now + timedelta(hours=1)
    )
    for event_id, resolved_at in (("d-1", None), ("d-2", None), ("d-3", now)):
        DeadLetter.objects.create(
            event_id=event_id,
            payload={},
            content_hash="0" * 64,
            reason="unknown journey",
            received_at=now,
            resolved_at=resolved_at,
        )
    due = ChangedTransaction.objects.filter(due_at__lte=now).count()

    samples = scrape(client)
    assert value(samples, "c2c_outbox_pending") == 1
    assert 600 <= value(samples, "c2c_outbox_oldest_age_seconds") < 660
    assert value(samples, "c2c_feed_pending") == due >= 1  # the one due in an hour is not
    assert 300 <= value(samples, "c2c_feed_oldest_age_seconds") < 360
    assert value(samples, "c2c_dead_letters_waiting") == 2
    assert value(samples, "c2c_cases_open", status="open") == 1
    assert value(samples, "c2c_cases_open", status="snoozed") == 0

    case.status = CaseStatus.SNOOZED
    case.save()
    StatusChange.objects.update(processed=now)
    samples = scrape(client)
    assert value(samples, "c2c_cases_open", status="open") == 0
    assert value(samples, "c2c_cases_open", status="snoozed") == 1
    assert value(samples, "c2c_outbox_pending") == 0
    assert value(samples, "c2c_outbox_oldest_age_seconds") == 0


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_slow_database_does_not_hold_up_the_scrape(client, monkeypatch):
    def slow(now):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(backlog, "_read", slow)
    monkeypatch.setattr(backlog, "TIMEOUT_MS", 200)
    started = time.monotonic()
    samples = scrape(client)
    assert time.monotonic() - started < 3
    assert value(samples, "c2c_backlog_up") == 0
    assert ("c2c_outbox_pending", frozenset()) not in samples
    # The request's own transaction got its timeout back.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
