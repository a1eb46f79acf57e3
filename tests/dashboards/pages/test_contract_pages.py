"""The contracts list and a contract's chain page, as people with a role see them."""

from datetime import timedelta

import orjson
import pytest

from dashboards.refresh import refresh
from tests.conftest import browser
from tests.dashboards.helpers import TODAY, plotly_checked
from tests.dashboards.reconciliation.chain import CONTRACT, send_chain

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]


@pytest.fixture
def chain(ingest_client):
    send_chain(ingest_client)
    refresh(now=TODAY + timedelta(minutes=1))


def test_the_list_shows_each_contract_with_its_breaks(chain, viewer):
    page = browser(viewer).get("/contracts/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/contracts/{CONTRACT}/"' in html
    assert "120,000.00 EUR" in html and ">4</a>" in html


def test_the_list_filters_and_its_fragment_answers_htmx(chain, viewer):
    none = browser(viewer).get("/contracts/", {"kind": "over_billed"}, HTTP_HX_REQUEST="true")
    assert none.status_code == 200 and "HX-Request" in none["Vary"]
    html = none.content.decode()
    assert "<h1>" not in html  # the fragment alone
    assert "No contract matches" in html


def test_a_bad_filter_says_so(chain, viewer):
    html = browser(viewer).get("/contracts/", {"has_breaks": "maybe"}).content.decode()
    assert "is not true or false" in html


def test_the_list_exports_csv_with_its_filters(chain, viewer):
    response = browser(viewer).get("/contracts/", {"format": "csv", "has_breaks": "true"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("contract,customer,region")
    assert len(lines) == 2 and lines[1].startswith(f"{CONTRACT},Globex,EMEA")
    empty = browser(viewer).get("/contracts/", {"format": "csv", "has_breaks": "false"})
    assert len(b"".join(empty.streaming_content).decode().splitlines()) == 1


def test_a_contract_page_draws_the_chain(chain, viewer):
    html = browser(viewer).get(f"/contracts/{CONTRACT}/").content.decode()
    # The ERP is behind on the version; the others hold v2.
    versions = html[
        html.index('id="versions"') : html.index("</table>", html.index('id="versions"'))
    ]
    assert 'class="error-text">1 <span class="badge failed">behind</span>' in versions
    assert versions.count("behind") == 1
    for cid in ("SOW-42", "AMD-42-1", "INV-1", "INV-2", "INV-3", "INV-4"):
        assert f'href="/transactions/{cid}/"' in html
    assert "10000.00 EUR" in html and "9000.00 EUR" in html
    assert "billing and clm hold v2; erp still holds v1" in html
    assert html.count('<span class="badge failed">') >= 4


def test_a_transaction_links_to_its_contract(chain, viewer):
    html = browser(viewer).get("/transactions/INV-1/").content.decode()
    assert f'href="/contracts/{CONTRACT}/" id="contract-link"' in html


def test_an_unreconciled_contract_is_404_and_outsiders_are_refused(chain, viewer, outsider):
    assert browser(viewer).get("/contracts/C-404/").status_code == 404
    assert browser(outsider).get(f"/contracts/{CONTRACT}/").status_code == 403
    assert browser(outsider).get("/contracts/").status_code == 403


def chart(html: str, name: str) -> dict:
    start = html.index(f'id="figure-{name}">') + len(f'id="figure-{name}">')
    return plotly_checked(orjson.loads(html[start : html.index("</script>", start)]))


def test_the_overview_tile_and_chart_drill_to_the_contracts_with_breaks(chain, viewer):
    html = browser(viewer).get("/").content.decode()
    tile = html[html.index('id="tile-reconciliation"') :]
    tile = tile[: tile.index("</article>")]
    assert 'href="/contracts/?has_breaks=true"' in tile
    assert "31,900" in tile and "4 open" in tile
    bars = chart(html, "breaks")["data"][0]
    kinds = dict(zip(bars["customdata"], bars["y"], strict=True))
    assert kinds["/contracts/?kind=unbilled"] == 5500.0
    assert kinds["/contracts/?kind=over_billed"] == 0.0
    # What the tile opens adds up to the tile.
    listed = browser(viewer).get("/contracts/", {"has_breaks": "true", "format": "csv"})
    rows = b"".join(listed.streaming_content).decode().splitlines()[1:]
    assert [row.split(",")[-2] for row in rows] == ["31900.00"]
