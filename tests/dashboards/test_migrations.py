"""Data migrations of the metrics: what an upgrade does to a ledger already refreshed."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from dashboards.models import CoarseRollup, Fact, Rollup
from dashboards.overview import funnel
from dashboards.rollups import refresh
from tests.dashboards.helpers import hours, report, step
from tracking.models import ChangedTransaction

pytestmark = pytest.mark.django_db

stage_facts = importlib.import_module("dashboards.migrations.0005_funnel_stage_facts")


def test_upgrading_works_out_the_funnel_of_transactions_refreshed_before(ingest_client):
    start = timezone.now() - timedelta(days=2)
    report(
        ingest_client,
        step("UP-1", "work_approved", start),
        step("UP-1", "invoice_generated", start + hours(1)),
        step("UP-2", "work_approved", start),
    )
    refresh()
    # As a ledger refreshed by the previous release: no stage facts anywhere.
    Fact.objects.filter(measure__startswith="stage:").delete()
    Rollup.objects.filter(measure__startswith="stage:").delete()
    CoarseRollup.objects.filter(measure__startswith="stage:").delete()
    assert funnel("billing", "7d", {}, timezone.now())["reached"][0] == 0

    with connection.schema_editor() as editor:
        stage_facts.enqueue_every_transaction(apps, editor)
    assert ChangedTransaction.objects.count() == 2
    refresh()

    counted = funnel("billing", "7d", {}, timezone.now())
    assert counted["stages"][:2] == ["work_approved", "invoice_generated"]
    assert counted["reached"][:2] == [2, 1]
