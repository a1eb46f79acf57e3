"""The contracts and breaks API on the issue's chain: exactly the versions, amounts and
four breaks that follow from it."""

from datetime import timedelta

import pytest

from dashboards.refresh import refresh
from tests.conftest import session_client
from tests.dashboards.helpers import TODAY

from .chain import CONTRACT, send_chain

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]


@pytest.fixture
def chain(ingest_client):
    send_chain(ingest_client)
    refresh(now=TODAY + timedelta(minutes=1))


def test_a_contract_answers_its_versions_amounts_transactions_and_breaks(read_client, chain):
    body = read_client.get(f"/api/v1/contracts/{CONTRACT}").json()
    assert (body["contract"], body["customer"], body["currency"]) == (CONTRACT, "Globex", "EUR")
    assert body["versions"] == {"clm": "2", "billing": "2", "erp": "1"}
    assert body["amounts"] == {
        "contracted": "120000.00",
        "approved": "21000.00",
        "invoiced": "15000.00",
        "posted": "0.00",
        "paid": "0.00",
    }
    # The chain as a person reads it: the contract, its amendment, then the invoices.
    assert [t["correlation_id"] for t in body["transactions"]] == [
        "SOW-42", "AMD-42-1", "INV-1", "INV-3", "INV-4", "INV-2",
    ]  # fmt: skip
    assert body["transactions"][2] == {
        "correlation_id": "INV-1",
        "journey": "billing",
        "stage": "invoice_generated",
        "status": "in_progress",
        "amount": "9000.00",
        "currency": "EUR",
        "invoice": "F-001",
        "stage_amounts": {
            "work_approved": {"amount": "10000.00", "currency": "EUR"},
            "invoice_generated": {"amount": "9000.00", "currency": "EUR"},
        },
    }
    assert [(b["kind"], b["amount"], b["correlation_id"]) for b in body["breaks"]] == [
        ("version_mismatch", "20000.00", "AMD-42-1"),
        ("unbilled", "5000.00", "INV-2"),
        ("duplicate_invoice", "3000.00", "INV-4"),
        ("amount_mismatch", "1000.00", "INV-1"),
    ]
    assert set(body["breaks"][0]) >= {
        "kind",
        "amount",
        "currency",
        "correlation_id",
        "detail",
        "since",
    }


def test_the_breaks_list_ranks_by_amount_and_filters(read_client, chain):
    listed = read_client.get("/api/v1/reconciliation/breaks").json()["results"]
    assert [b["kind"] for b in listed] == [
        "version_mismatch", "unbilled", "duplicate_invoice", "amount_mismatch",
    ]  # fmt: skip
    wanted = {"kind": "unbilled", "contract": CONTRACT}
    assert [b["correlation_id"] for b in read_client.get(
        "/api/v1/reconciliation/breaks", wanted
    ).json()["results"]] == ["INV-2"]  # fmt: skip
    assert read_client.get("/api/v1/reconciliation/breaks", {"kind": "nope"}).status_code == 400


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({}, [CONTRACT]),
        ({"has_breaks": "true"}, [CONTRACT]),
        ({"has_breaks": "false"}, []),
        ({"kind": "over_billed"}, []),
        ({"kind": "unbilled"}, [CONTRACT]),
        ({"customer": "Globex"}, [CONTRACT]),
        ({"q": "glob"}, [CONTRACT]),
        ({"q": "C-4"}, [CONTRACT]),
        ({"region": "NA"}, []),
    ],
)
def test_the_contracts_list_filters(read_client, chain, params, found):
    body = read_client.get("/api/v1/contracts", params).json()
    assert [c["contract"] for c in body["results"]] == found


def test_people_with_a_role_may_read_contracts_and_outsiders_not(chain, viewer, outsider):
    assert session_client(viewer).get(f"/api/v1/contracts/{CONTRACT}").status_code == 200
    assert session_client(outsider).get(f"/api/v1/contracts/{CONTRACT}").status_code == 403


def test_an_unknown_contract_is_404(read_client, chain):
    assert read_client.get("/api/v1/contracts/C-404").status_code == 404


def test_the_summary_counts_the_open_breaks(read_client, chain):
    summary = read_client.get("/api/v1/metrics/summary").json()
    # 20,000 + 5,000 + 3,000 + 1,000 EUR at 1.10
    assert summary["reconciliation"] == {"breaks": 4, "amount": "31900.00"}
    elsewhere = read_client.get("/api/v1/metrics/summary", {"region": "NA"}).json()
    assert elsewhere["reconciliation"] == {"breaks": 0, "amount": "0.00"}
