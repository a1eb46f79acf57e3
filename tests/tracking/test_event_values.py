"""Amounts and currencies a ledger can hold, and bodies a parser can read: anything else is
the item's error (or the request's 400), never a 500 that loses the valid items beside it."""

import json

import pytest

from tests.tracking.factories import event
from tracking.ingest.events import Invalid, currency, money
from tracking.models import Event

URL = "/api/v1/events"
pytestmark = pytest.mark.django_db

TOO_LARGE = ["1e26", "1e400", 1e308, "1" * 28, "10000000000000000", "1E+999999999999"]


def post_raw(client, body: bytes):
    return client.post(URL, body, content_type="application/json")


@pytest.mark.parametrize("amount", TOO_LARGE)
def test_an_amount_past_the_column_is_an_item_error(ingest_client, amount):
    body = [
        event("work_approved", event_id="ok-1", correlation_id="SOW-OK", amount="12.50"),
        event("work_approved", event_id="big", correlation_id="SOW-BIG", amount=amount),
        event("work_approved", event_id="ok-2", correlation_id="SOW-OK2", amount=99),
    ]
    response = ingest_client.post(URL, body, format="json")
    assert response.status_code == 202
    reply = response.json()
    assert reply["accepted"] == 2
    [error] = reply["errors"]
    assert (error["index"], error["event_id"]) == (1, "big")
    assert "larger than the ledger holds" in error["detail"]
    assert set(Event.objects.values_list("event_id", flat=True)) == {"ok-1", "ok-2"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1_000", "is not a number"),
        ("NaN", "is not a number"),
        ("Infinity", "is not a number"),
        ("12.5.1", "is not a number"),
        ("0x10", "is not a number"),
        ("10.001", "more than 2 decimal places"),
        ("1e-400", "more than 2 decimal places"),
        (True, "must be a number"),
        ({"value": 1}, "must be a number"),
    ],
)
def test_amounts_that_are_not_money_are_refused(value, reason):
    with pytest.raises(Invalid, match=reason):
        money(value)


@pytest.mark.parametrize(
    ("value", "cents"),
    [("12.5", "12.50"), (12.5, "12.50"), ("  7 ", "7.00"), ("-0.01", "-0.01"), ("1e3", "1000.00")],
)
def test_amounts_as_json_writes_numbers_are_taken(value, cents):
    assert str(money(value)) == cents


@pytest.mark.parametrize("code", ["XYZ", "E1R", "EURO", "", 978])
def test_a_currency_must_be_an_iso_4217_code(ingest_client, code):
    response = ingest_client.post(URL, event("work_approved", amount="5", currency=code), "json")
    if code == "":
        assert response.json()["accepted"] == 1  # none given: the reporting currency
        return
    [error] = response.json()["errors"]
    assert "is not an ISO 4217 currency code" in error["detail"]


def test_currency_codes_are_read_in_any_case():
    assert currency(" gbp ") == "GBP"


def test_a_body_nested_past_the_parsers_depth_is_a_400(ingest_client):
    body = b"[" * 100_000 + b"]" * 100_000
    response = post_raw(ingest_client, body)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_deeply_nested_attributes_are_the_items_error(ingest_client):
    nested: object = "leaf"
    for _ in range(300):  # within the parser's depth, past what the ledger stores
        nested = {"n": nested}
    body = [event("work_approved", event_id="deep", attributes=nested), event("work_approved")]
    response = post_raw(ingest_client, json.dumps(body).encode())
    assert response.status_code == 202
    reply = response.json()
    assert reply["accepted"] == 1
    assert reply["errors"][0]["event_id"] == "deep"
