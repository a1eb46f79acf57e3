"""Data migrations of the metrics: what an upgrade does to a ledger already refreshed."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from dashboards.models import CoarseRollup, Fact, Rollup
from dashboards.overview_figures import funnel
from dashboards.refresh import refresh
from tests.dashboards.helpers import hours, report, step
from tracking.models import ChangedTransaction

pytestmark = pytest.mark.django_db

stage_facts = importlib.import_module("dashboards.migrations.0005_funnel_stage_facts")
rollup_autovacuum = importlib.import_module("dashboards.migrations.0010_rollup_autovacuum")


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


def reloptions(table: str) -> dict[str, str]:
    """The table's autovacuum settings (its fillfactor, set earlier, aside)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        options = dict(option.split("=") for option in cursor.fetchone()[0] or [])
    return {name: value for name, value in options.items() if name.startswith("autovacuum")}


def test_rollups_are_vacuumed_after_a_hundredth_of_their_rows_changed_not_a_fifth():
    for table in rollup_autovacuum.TABLES:
        assert reloptions(table) == {
            "autovacuum_vacuum_scale_factor": "0.01",
            "autovacuum_vacuum_insert_scale_factor": "0.01",
        }
    with connection.schema_editor() as editor:
        rollup_autovacuum.vacuum_as_default(apps, editor)
    assert reloptions("dashboards_rollup") == {}
    with connection.schema_editor() as editor:
        rollup_autovacuum.vacuum_sooner(apps, editor)
    assert reloptions("dashboards_rollup")["autovacuum_vacuum_scale_factor"] == "0.01"
