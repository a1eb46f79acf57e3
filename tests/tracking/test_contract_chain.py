"""The chain in the ledger: each report says which system it speaks for and which version of
the contract that system holds; each stage keeps its own amount."""

import importlib

import orjson
import pytest
from django.apps import apps
from django.db import connection

from tests.conftest import key_client, make_key
from tests.tracking.factories import event, json_export, nanos
from tracking.models import Event, Flow, Transaction

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"
chain_migration = importlib.import_module("tracking.migrations.0010_contract_chain")


@pytest.fixture
def billing_client(db):
    flow = Flow.objects.create(slug="billing-to-erp", owner_team="erp", target_system="ERP")
    return key_client(make_key(flow, "ingest"))


def test_an_event_says_its_system_and_version(billing_client):
    body = [
        event("work_approved", event_id="a", system="billing", contract_version="v2"),
        event("invoice_generated", event_id="b", hours=1),
    ]
    assert billing_client.post(URL, body, format="json").json()["accepted"] == 2
    stored = dict(Event.objects.values_list("event_id", "system"))
    # Unsaid, the system is the flow's target system, as a slug.
    assert stored == {"a": "billing", "b": "erp"}
    assert Event.objects.get(event_id="a").contract_version == "v2"


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("system", "E R P", "is not a slug"),
        ("system", "s" * 51, "longer than 50"),
        ("system", ["erp"], "must be a string"),
        ("contract_version", "v 2", "is not a version"),
        ("contract_version", "9" * 51, "longer than 50"),
    ],
)
def test_a_system_or_version_that_is_no_slug_is_the_items_error(
    billing_client, field, value, detail
):
    body = [event("work_approved", **{field: value}), event("work_approved", correlation_id="X")]
    reply = billing_client.post(URL, body, format="json").json()
    assert reply["accepted"] == 1
    assert detail in reply["errors"][0]["detail"]


def test_each_stage_keeps_its_own_amount(ingest_client, read_client):
    body = [
        event("work_approved", amount="10000.00", currency="EUR"),
        event("invoice_generated", hours=1, amount="9000.00", currency="EUR"),
        # A failed report's amount is not what the stage produced.
        event("invoice_posted", "failed", hours=2, amount="1.00", currency="EUR"),
    ]
    ingest_client.post(URL, body, format="json")
    txn = Transaction.objects.get()
    detail = read_client.get(f"/api/v1/transactions/{txn.correlation_id}").json()
    assert detail["stage_amounts"] == {
        "work_approved": {"amount": "10000.00", "currency": "EUR"},
        "invoice_generated": {"amount": "9000.00", "currency": "EUR"},
    }
    # The transaction's own amount is still its latest report's, whatever its status.
    assert detail["amount"] == "1.00"


def test_a_later_report_of_a_stage_replaces_its_amount_an_earlier_one_does_not(ingest_client):
    late = event("work_approved", event_id="late", hours=3, amount="12.00")
    early = event("work_approved", event_id="early", hours=1, amount="11.00")
    ingest_client.post(URL, [late], format="json")
    ingest_client.post(URL, [early], format="json")
    assert Transaction.objects.get().stage_amounts["work_approved"][2] == "12.00"


def test_spans_say_their_system_and_version(client, ingest_key, flow):
    flow.target_system = "psa"
    flow.save()
    spans = [
        {
            "trace_id": f"{i + 1:032x}",
            "span_id": f"{i + 1:016x}",
            "end": nanos(1),
            "attributes": {
                "c2c.correlation_id": f"SOW-SPAN-{i}",
                "c2c.journey": "contract_activation",
                "c2c.stage": "contract_approved",
                **attrs,
            },
        }
        for i, attrs in enumerate(
            [{"c2c.system": "CLM", "c2c.contract_version": "3"}, {}, {"c2c.system": "no way"}]
        )
    ]
    response = client.post(
        "/v1/traces",
        orjson.dumps(json_export(spans)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {ingest_key}",
    )
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert "c2c.system 'no way' is not a slug" in partial["errorMessage"]
    stored = {
        e.transaction.correlation_id: (e.system, e.contract_version) for e in Event.objects.all()
    }
    assert stored == {"SOW-SPAN-0": ("clm", "3"), "SOW-SPAN-1": ("psa", "")}


def test_the_migration_fills_each_stage_amount_as_the_ledger_keeps_it(ingest_client):
    body = [
        event("work_approved", correlation_id="M-1", amount="100.00", currency="USD"),
        event("work_approved", correlation_id="M-1", hours=1, amount="120.00", currency="USD"),
        event("invoice_generated", correlation_id="M-1", hours=2, amount="119.00"),
        event("work_approved", correlation_id="M-2", amount="5.00", currency="GBP"),
        event("work_approved", correlation_id="M-3"),  # no amount: nothing to keep
    ]
    ingest_client.post(URL, body, format="json")
    kept = dict(Transaction.objects.values_list("correlation_id", "stage_amounts"))
    Transaction.objects.update(stage_amounts={})
    with connection.schema_editor() as editor:
        chain_migration.fill_stage_amounts(apps, editor)
    assert dict(Transaction.objects.values_list("correlation_id", "stage_amounts")) == kept
    assert kept["M-3"] == {}
