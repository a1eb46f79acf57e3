"""Through PgBouncer in transaction pooling mode (DB_POOL_MODE=transaction), concurrent
ingest of events and spans lands exactly, and the pages read: nothing relies on a
PostgreSQL session outliving its transaction."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from tests import pgbouncer
from tests.server import AppServer
from tests.tracking.factories import event, pb_export
from tracking.models import Event, Span, Transaction

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not pgbouncer.available(), reason="pgbouncer is not installed"),
]


def span(n: int) -> dict:
    end = time.time_ns() - 10**9
    return {
        "trace_id": f"{n + 1:032x}", "span_id": f"{n + 1:016x}", "start": end - 10**6,
        "end": end,
        "attributes": {"c2c.correlation_id": f"SOW-PGB-SPAN-{n}", "c2c.journey": "billing",
                       "c2c.stage": "work_approved"},
    }  # fmt: skip


def test_ingest_and_pages_through_transaction_pooling(ingest_key, admin_user):
    settings = connection.settings_dict
    with (
        pgbouncer.PgBouncer(settings["NAME"], settings["HOST"] or "127.0.0.1") as bouncer,
        # Threaded as deploy/ runs it: callbacks arriving together share a commit.
        AppServer(bouncer.url(), workers=2, threads=8, DB_POOL_MODE="transaction") as app,
    ):
        auth = {"Authorization": f"Bearer {ingest_key}"}

        def one_event(n: int) -> int:
            body = event("work_approved", correlation_id=f"SOW-PGB-{n}", event_id=f"pgb-{n}")
            return httpx.post(f"{app.url}/api/v1/events", json=body, headers=auth).status_code

        def a_batch(n: int) -> int:
            body = [event("work_approved", correlation_id=f"SOW-PGB-B{n}-{i}",
                          event_id=f"pgb-b{n}-{i}") for i in range(20)]  # fmt: skip
            return httpx.post(f"{app.url}/api/v1/events", json=body, headers=auth).status_code

        def spans(n: int) -> int:
            body = pb_export([span(n * 10 + i) for i in range(10)])
            headers = {**auth, "Content-Type": "application/x-protobuf"}
            return httpx.post(f"{app.url}/v1/traces", content=body, headers=headers).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(one_event, range(60)))
            codes += list(pool.map(a_batch, range(10)))
            codes += list(pool.map(spans, range(10)))
            codes += list(pool.map(one_event, range(10)))  # resent: duplicates, not errors
        assert set(codes[:70]) == {202} and set(codes[70:80]) == {200}, bouncer.log()
        assert set(codes[80:]) == {202}

        client = httpx.Client(base_url=app.url)
        login = client.get("/accounts/login/")
        admin_user.set_password("pgbouncer-pass-123")
        admin_user.save()
        client.post(
            "/accounts/login/",
            data={"username": admin_user.username, "password": "pgbouncer-pass-123",
                  "csrfmiddlewaretoken": login.cookies["csrftoken"]},
        )  # fmt: skip
        for page in ("/", "/transactions/", "/exceptions/"):
            assert client.get(page).status_code == 200, page

    assert Event.objects.filter(event_id__startswith="pgb-").count() == 60 + 200
    assert Transaction.objects.filter(correlation_id__startswith="SOW-PGB").count() == 360
    assert Span.objects.filter(correlation_id__startswith="SOW-PGB-SPAN").count() == 100
