"""Celery application: configured from Django settings (namespace CELERY), tasks autodiscovered."""

import os
from pathlib import Path

from celery import Celery

from .metrics import task_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "c2c_ops.settings")

app = Celery("c2c_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task durations and failures for /metrics, from every worker process.
task_signals.connect()


@app.on_after_configure.connect
def _broker_folders(sender: Celery, source: object, **_: object) -> None:
    # The embedded filesystem broker needs its folders before the first message. After
    # configuration, from ``source``: reading ``sender.conf`` while it is being configured
    # configures it again, without end.
    options = source.get("broker_transport_options") or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
