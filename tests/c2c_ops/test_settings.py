"""Settings as a deployment sees them: a fresh process with only environment variables."""

import os
import subprocess
import sys
import uuid

from tests.server import ROOT
from tests.worker import broker_url


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("C2C_", "SECRET_KEY", "CACHE_URL"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_passes_the_deploy_checks():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        C2C_PRODUCTION="true",
        SECRET_KEY="k" * 20 + "-a-long-random-production-secret-key-value",
        ALLOWED_HOSTS="c2c.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = manage("check", C2C_PRODUCTION="true")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_a_bad_value_names_the_variable():
    result = manage("check", INGEST_MAX_BODY_BYTES="lots")
    assert result.returncode != 0
    assert "INGEST_MAX_BODY_BYTES must be an integer" in result.stderr


def test_the_embedded_default_migrates_from_scratch(tmp_path):
    # The README's demo runs on SQLite; the suite runs on PostgreSQL, so only this test
    # would notice a migration SQLite cannot run (an index option, say).
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    done = manage("migrate", "--no-input", DATABASE_URL=url, CELERY_BROKER_URL="memory://")
    assert done.returncode == 0, done.stderr[-2000:]
    listed = manage("showmigrations", "--plan", DATABASE_URL=url, CELERY_BROKER_URL="memory://")
    assert "[ ]" not in listed.stdout and "[X]" in listed.stdout


def _cache_in_new_process(code: str, **env: str) -> str:
    return manage("shell", "-c", f"from django.core.cache import cache; {code}", **env).stdout


def test_with_cache_url_web_processes_share_the_cached_figures():
    # Database 14 of the tests' Redis: the broker's (15) is left alone.
    url = broker_url().rsplit("/", 1)[0] + "/14"
    key = f"probe-{uuid.uuid4().hex}"
    _cache_in_new_process(f"cache.set({key!r}, 'computed by process A', 60)", CACHE_URL=url)
    try:
        seen = _cache_in_new_process(f"print(cache.get({key!r}))", CACHE_URL=url)
        assert "computed by process A" in seen
        # Without it, each process keeps its own cache.
        assert "None" in _cache_in_new_process(f"print(cache.get({key!r}))")
    finally:
        _cache_in_new_process(f"cache.delete({key!r})", CACHE_URL=url)


def test_a_cache_url_that_is_not_redis_is_refused_without_showing_it():
    for value in ("memcached://admin:hunter2@cache:11211", "hunter2"):
        result = manage("check", CACHE_URL=value)
        assert result.returncode != 0
        assert "CACHE_URL must be a redis://" in result.stderr
        assert "hunter2" not in result.stderr


def test_every_periodic_job_names_a_task_the_workers_have():
    from django.conf import settings

    from c2c_ops.celery import app

    app.loader.import_default_modules()  # what a worker imports at start (autodiscovery)
    scheduled = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert len(scheduled) == len(settings.PERIODIC_JOBS) == 10
    assert scheduled <= set(app.tasks)
