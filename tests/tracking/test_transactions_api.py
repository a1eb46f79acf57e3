import pytest

from tests.conftest import key_client, make_key, session_client
from tests.tracking.factories import event
from tracking import ledger
from tracking.ingest.events import parse_event
from tracking.models import TransactionState

pytestmark = pytest.mark.django_db
LIST = "/api/v1/transactions"


@pytest.fixture
def ledger_rows(flow):
    """Four transactions in different states, written through the ingest path."""
    raw = [
        event(
            "work_approved",
            correlation_id="SOW-1",
            amount="500.00",
            region="EMEA",
            business_unit="Advisory",
            customer="Acme",
        ),
        event(
            "work_approved",
            correlation_id="SOW-2",
            amount="9000.00",
            region="APAC",
            business_unit="Tax",
        ),
        event("invoice_generated", "failed", 1, correlation_id="SOW-2"),
        event(
            "contract_approved",
            correlation_id="CTR-3",
            journey="contract_activation",
            amount="120.00",
            region="EMEA",
            business_unit="Tax",
        ),
        *[
            event(s, correlation_id="INV-4", hours=i, region="NA", amount="42.00")
            for i, s in enumerate(
                ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]
            )
        ],
    ]
    events = [parse_event(item, flow.id, flow.slug) for item in raw]
    ledger.run_atomic(lambda: ledger.record(events))

    TransactionState.objects.filter(transaction__correlation_id="SOW-1").update(status="stuck")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(r["correlation_id"] for r in response.json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["CTR-3", "INV-4", "SOW-1", "SOW-2"]),
        ("?status=failed", ["SOW-2"]),
        ("?status=completed&status=failed", ["INV-4", "SOW-2"]),
        ("?stage=invoice_generated", ["SOW-2"]),
        ("?journey=contract_activation", ["CTR-3"]),
        ("?flow=psa-to-billing", ["CTR-3", "INV-4", "SOW-1", "SOW-2"]),
        ("?flow=nobody", []),
        ("?region=EMEA", ["CTR-3", "SOW-1"]),
        ("?region=EMEA&business_unit=Tax", ["CTR-3"]),
        ("?stuck=true", ["SOW-1"]),
        ("?stuck=false", ["CTR-3", "INV-4", "SOW-2"]),
        ("?min_amount=400", ["SOW-1", "SOW-2"]),
        ("?q=sow", ["SOW-1", "SOW-2"]),
        ("?q=acme", ["SOW-1"]),
    ],
)
def test_filters(read_client, ledger_rows, query, expected):
    assert ids(read_client.get(LIST + query)) == expected


def test_bad_filter_values_are_400(read_client, ledger_rows):
    response = read_client.get(LIST + "?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()


def test_cursor_pagination_walks_every_row_once(read_client, ledger_rows):
    seen, url = [], LIST + "?page_size=3"
    while url:
        page = read_client.get(url).json()
        seen += [r["correlation_id"] for r in page["results"]]
        url = page["next"]
    assert sorted(seen) == ["CTR-3", "INV-4", "SOW-1", "SOW-2"]
    assert len(seen) == len(set(seen))


def test_detail_has_stages_events_and_spans(read_client, ledger_rows):
    data = read_client.get(LIST + "/INV-4").json()
    assert data["status"] == "completed"
    assert [s["stage"] for s in data["stages"]] == [
        "work_approved",
        "invoice_generated",
        "invoice_posted",
        "payment_received",
    ]
    assert all(s["succeeded_at"] for s in data["stages"])
    assert [e["stage"] for e in data["events"]] == [s["stage"] for s in data["stages"]]
    assert data["spans"]["count"] == 0
    assert data["amount"] == "42.00"


def test_detail_of_an_unknown_transaction_is_404(read_client, db):
    assert read_client.get(LIST + "/NOPE-1").status_code == 404


def test_correlation_ids_with_slashes_resolve(read_client, flow):
    item = parse_event(event("work_approved", correlation_id="SOW/2026/7"), flow.id, flow.slug)
    ledger.run_atomic(lambda: ledger.record([item]))
    assert read_client.get(LIST + "/SOW/2026/7").json()["correlation_id"] == "SOW/2026/7"


@pytest.mark.parametrize("persona", ["viewer", "operator", "admin_user"])
def test_people_with_a_role_can_read(request, persona, ledger_rows):
    client = session_client(request.getfixturevalue(persona))
    assert len(ids(client.get(LIST))) == 4


def test_signed_in_people_without_a_role_cannot_read(outsider, ledger_rows):
    assert session_client(outsider).get(LIST).status_code == 403


def test_anonymous_requests_are_401(client, ledger_rows):
    assert client.get(LIST).status_code == 401


def test_ingest_only_keys_cannot_read(ingest_client, ledger_rows):
    assert ingest_client.get(LIST).status_code == 403


def test_read_keys_see_the_whole_ledger(flow, other_flow, ledger_rows):
    # Reading is not limited to the key's flow: the ledger joins flows end to end.
    assert len(ids(key_client(make_key(other_flow, "read")).get(LIST))) == 4
