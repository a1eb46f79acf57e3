"""Multiprocess mode for real: gunicorn with two workers, and the start-up hooks."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from django.db import connection

from c2c_ops.metrics import directory
from tests.conftest import make_key
from tests.server import AppServer
from tests.tracking.factories import pb_export

from .prometheus_scrape import parse, value

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-tests"


def accepted_spans(app: AppServer) -> float:
    response = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200
    samples = parse(response.text)
    return value(samples, "c2c_ingest_spans_total", flow="psa-to-billing", outcome="accepted")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_two_workers_count_every_span_once(flow, tmp_path):
    key = make_key(flow, "ingest")
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    metrics_dir = tmp_path / "metrics"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": TOKEN}
    with AppServer(url, workers=2, **env) as app:
        before = accepted_spans(app)
        sent = 0
        batch = 0

        def export() -> None:
            nonlocal sent, batch
            with lock:
                batch += 1
                number = batch
            spans = [
                {"trace_id": f"{number:032x}", "span_id": f"{number:08x}{i:08x}"}
                for i in range(1, 4)
            ]
            response = httpx.post(
                f"{app.url}/v1/traces",
                content=pb_export(spans),
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/x-protobuf",
                },
                timeout=30,
            )
            assert response.status_code == 200, response.text
            with lock:
                sent += len(spans)

        # Rounds of concurrent requests until both workers have counted spans (each keeps
        # its counters in a file of its own), bounded: the kernel picks who accepts.
        lock = threading.Lock()
        for _ in range(6):
            threads = [threading.Thread(target=export) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if len(list(metrics_dir.glob("counter_*.db"))) >= 2:
                break
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 2, "one worker took every export"
        assert accepted_spans(app) - before == sent
    assert sent >= 12


def test_importing_the_project_leaves_prometheus_client_for_settings_to_configure():
    # prometheus_client fixes its mode when first imported: only after settings have named
    # the directory. c2c_ops/__init__ (the Celery app) runs before settings in every process.
    code = "import sys, c2c_ops; print('prometheus_client' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_startup_removes_only_the_files_of_exited_processes(tmp_path):
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    for name in (f"counter_{exited.pid}.db", f"histogram_{os.getpid()}.db", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert directory.remove_dead(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"histogram_{os.getpid()}.db",
        "notes.txt",
    ]


def test_the_directory_is_named_once_and_created(tmp_path, monkeypatch):
    monkeypatch.delenv(directory.VARIABLE)
    assert directory.ensure(tmp_path) == tmp_path / "prometheus"
    assert (tmp_path / "prometheus").is_dir()
    monkeypatch.setenv(directory.VARIABLE, str(tmp_path / "elsewhere"))
    assert directory.ensure(tmp_path) == tmp_path / "elsewhere"
