"""Flows: per-flow figures with a sparkline, and one flow's errors by code."""

import re

import pytest

from tests.conftest import browser

from .scenario import HX, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(ingest_client):
    return build(ingest_client)


def row(html: str, slug: str) -> str:
    found = re.search(rf'<tr id="flow-{slug}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {slug}"
    return found[1]


def test_each_flow_has_its_figures(ledger, viewer):
    html = browser(viewer).get("/flows/").content.decode()
    mine = row(html, "psa-to-billing")  # the ingest key's flow reported everything
    assert ">5</a>" in mine  # transactions started
    assert "18.2%" in mine and "of 11 reports" in mine  # 2 of 11 reports failed
    assert '<svg class="spark"' in mine or "—" in mine


def test_a_flow_lists_its_errors_by_code(ledger, viewer):
    html = browser(viewer).get("/flows/psa-to-billing/").content.decode()
    codes = re.findall(r"error_code=([\w-]+)\">", html)
    assert sorted(codes) == ["ERP-422", "ERP-500"]


def test_fragments_and_roles(ledger, viewer, outsider):
    html = browser(viewer).get("/flows/?window=7d", **HX).content.decode()
    assert html.lstrip().startswith('<section id="page-body">')
    assert browser(outsider).get("/flows/").status_code == 403
    assert browser(viewer).get("/flows/nope/").status_code == 404
