"""The coarse rollups (hours and days without business unit and legal entity) always hold
the fine rollups' sums, and the views that can read them give the fine rollups' figures."""

import importlib
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from dashboards.models import CoarseRollup, Rollup
from dashboards.queries import rollups, totals
from dashboards.rebuild import rebuild
from dashboards.refresh import refresh
from tests.dashboards.helpers import MONDAY, TODAY, hours, report, step

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(TODAY)]
# Ingest enters changes in the feed due at the time of the request: ahead of that.
NOW = TODAY + timedelta(hours=1)
KEY = ("grain", "bucket", "measure", "journey", "flow", "region")
coarse_migration = importlib.import_module("dashboards.migrations.0009_coarse_rollups")


def fine_sums() -> dict[tuple, list]:
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for *key, count, amount in Rollup.objects.filter(grain__in=(3600, 86400)).values_list(
        *KEY, "count", "amount"
    ):
        out[tuple(key)][0] += count
        out[tuple(key)][1] += amount
    return {key: held for key, held in out.items() if held[0] or held[1]}


def coarse_rows() -> dict[tuple, list]:
    return {
        tuple(key): [count, amount]
        for *key, count, amount in CoarseRollup.objects.values_list(*KEY, "count", "amount")
    }


@pytest.fixture
def ledger(ingest_client):
    """Two transactions in the same hour and region, in different units and entities."""
    for cid, unit, entity, amount in (
        ("A", "Advisory", "C2C Inc", "100.00"),
        ("B", "Training", "C2C Ltd", "250.00"),
    ):
        report(
            ingest_client,
            step(
                cid,
                "work_approved",
                MONDAY,
                amount=amount,
                currency="USD",
                region="EMEA",
                business_unit=unit,
                legal_entity=entity,
            ),
            step(cid, "invoice_generated", MONDAY + hours(1), "failed", error={"code": "E1"}),
        )
    return ingest_client


def test_refreshes_and_rebuilds_keep_the_coarse_sums(ledger):
    refresh(now=NOW)
    started = CoarseRollup.objects.get(grain=3600, bucket=MONDAY, measure="started")
    assert (started.region, started.count, started.amount) == ("EMEA", 2, Decimal("250.00") + 100)
    assert coarse_rows() == fine_sums()

    # A recovery takes the failure facts away again: their coarse rows go with them.
    report(ledger, step("A", "invoice_generated", MONDAY + hours(2)))
    refresh(now=NOW)
    failed = CoarseRollup.objects.get(grain=86400, measure="failed")
    assert (failed.count, failed.amount) == (1, Decimal("250.00"))
    assert coarse_rows() == fine_sums()

    # The last failure recovers: no coarse row is left holding zero.
    report(ledger, step("B", "invoice_generated", MONDAY + hours(3)))
    refresh(now=NOW)
    assert not CoarseRollup.objects.filter(measure="failed").exists()
    assert coarse_rows() == fine_sums()

    incremental = coarse_rows()
    rebuild()
    assert coarse_rows() == incremental


@pytest.mark.parametrize(
    "filters",
    [{}, {"region": "EMEA"}, {"journey": "billing", "region": "NA"}, {"business_unit": "Advisory"}],
)
def test_totals_are_the_same_from_either_table(ledger, filters):
    refresh(now=NOW)
    window = (MONDAY - timedelta(days=1), MONDAY + timedelta(days=3))
    got = totals(*window, filters)
    fine: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for measure, count, amount in Rollup.objects.filter(
        grain=300, bucket__gte=window[0], bucket__lt=window[1], **filters
    ).values_list("measure", "count", "amount"):
        fine[measure][0] += count
        fine[measure][1] += amount
    assert got == dict(fine)


def test_only_hours_and_days_of_coarse_filters_come_from_the_coarse_table():
    assert rollups(3600, {"region": "EMEA"}).model is CoarseRollup
    assert rollups(86400, {}, group_by="flow").model is CoarseRollup
    assert rollups(300, {}).model is Rollup
    assert rollups(86400, {"legal_entity": "C2C Inc"}).model is Rollup
    assert rollups(86400, {}, group_by="business_unit").model is Rollup
    assert rollups(3600, {"business_unit": ""}).model is CoarseRollup  # blank: no filter


def test_upgrading_fills_the_coarse_table_from_the_fine_one(ledger):
    refresh(now=NOW)
    expected = coarse_rows()
    CoarseRollup.objects.all().delete()
    with connection.schema_editor() as editor:
        coarse_migration.coarse_from_fine(apps, editor)
    assert coarse_rows() == expected
