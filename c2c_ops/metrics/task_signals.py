"""Celery task durations and failures, from the worker's signals (c2c_ops/celery.py).

The metrics are made at the first task, not at import: c2c_ops/celery.py imports this
before settings have set PROMETHEUS_MULTIPROC_DIR, and prometheus_client fixes its mode
when first imported. A prefork child inherits the variable and writes its own files.
"""

import time
from functools import cache

from celery.signals import task_failure, task_postrun, task_prerun

# 1 ms to ~10 min: a cache refresh to a rollup rebuild.
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

# task_id -> start; a task's prerun and postrun run in the same process.
_started: dict[str, float] = {}


@cache
def _metrics():
    from prometheus_client import Counter, Histogram

    duration = Histogram(
        "c2c_task_duration_seconds",
        "Time a Celery task ran, successful or not, by task name.",
        ["task"],
        buckets=BUCKETS,
    )
    failures = Counter("c2c_task_failures", "Celery tasks that raised, by task name.", ["task"])
    return duration, failures


def _prerun(task_id: str | None = None, **_: object) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def _postrun(task_id: str | None = None, task: object = None, **_: object) -> None:
    started = _started.pop(task_id, None) if task_id else None
    if started is None:
        return
    name = getattr(task, "name", None) or "unknown"
    _metrics()[0].labels(task=name).observe(time.perf_counter() - started)


def _failure(sender: object = None, **_: object) -> None:
    name = getattr(sender, "name", None) or "unknown"
    _metrics()[1].labels(task=name).inc()


def connect() -> None:
    # dispatch_uid: connected once however often the Celery module is imported.
    task_prerun.connect(_prerun, weak=False, dispatch_uid="c2c_metrics_prerun")
    task_postrun.connect(_postrun, weak=False, dispatch_uid="c2c_metrics_postrun")
    task_failure.connect(_failure, weak=False, dispatch_uid="c2c_metrics_failure")
