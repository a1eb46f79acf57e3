"""The embedded broker's folders exist once the Celery app is configured, without error."""

import os
import subprocess
import sys

from django.conf import settings


def test_configuring_the_app_makes_the_embedded_brokers_folders(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("CELERY_BROKER")
    }
    environment |= {"C2C_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "c2c_ops.settings"}
    code = (
        "import django; django.setup(); from c2c_ops.celery import app; print(app.conf.broker_url)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "filesystem://"
    assert "Error" not in done.stderr, done.stderr
    folders = {p.name for p in (tmp_path / "broker").iterdir()}
    assert {"out", "processed", "control"} <= folders, folders
