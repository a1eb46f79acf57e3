"""The deployment files in deploy/ stay true to the app: every queue has a worker, the
Collector sends what /v1/traces reads, and the database settings apply to the real schema."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection, transaction

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def procfile() -> dict[str, str]:
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_every_queue_has_a_worker_in_the_procfile():
    taken = set()
    for command in procfile().values():
        if match := re.search(r"worker -Q (\S+)", command):
            taken.update(match.group(1).split(","))
    assert taken == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_the_systemd_worker_takes_one_routed_queue_per_instance():
    unit = (DEPLOY / "systemd" / "c2c-ops-worker@.service").read_text()
    assert "-Q %i " in unit
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    for queue in routed:
        assert f"@{queue}" in unit, f"the unit's comment should name the {queue} instance"


def test_the_collector_sends_what_the_receiver_reads():
    config = yaml.safe_load((DEPLOY / "otelcol.yaml").read_text())
    exporter = config["exporters"]["otlphttp/c2c-ops"]
    assert exporter["traces_endpoint"].endswith("/v1/traces")
    assert exporter["encoding"] == "proto" and exporter["compression"] == "gzip"
    assert exporter["headers"]["Authorization"].startswith("Bearer ")
    assert exporter["sending_queue"]["storage"] in config["service"]["extensions"]
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["processors"][0] == "memory_limiter"  # first, as its docs require
    assert pipeline["exporters"] == ["otlphttp/c2c-ops"]


def test_pgbouncer_pools_by_transaction():
    assert re.search(r"^pool_mode = transaction$", (DEPLOY / "pgbouncer.ini").read_text(), re.M)


@pytest.mark.django_db
def test_the_table_settings_apply_to_the_migrated_schema():
    sql = (DEPLOY / "postgres-tables.sql").read_text()
    statements = [s.strip() for s in re.sub(r"--.*", "", sql).split(";") if s.strip()]
    assert statements
    # In a transaction rolled back: the role's setting must not leak into the test cluster.
    with pytest.raises(_RolledBack), transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        raise _RolledBack


class _RolledBack(Exception):
    pass
