"""gunicorn's hooks for the Prometheus multiprocess directory (docs/scaling.md).

gunicorn reads ./gunicorn.conf.py from the directory it starts in, so these apply to every
start of the app (production, ``make demo``, the tests' servers). They set no option: the
command line's workers, threads, bind and timeouts stay as given.

- At load, in the master: PROMETHEUS_MULTIPROC_DIR is set (default ``$C2C_VAR_DIR/prometheus``)
  and created, before any worker exists, so every worker writes there.
- ``on_starting``: the files of processes no longer running (a previous run's workers)
  are deleted; those of running processes (a Celery worker sharing the directory) stay.
- ``child_exit``: a worker that exits has its live gauges removed.

And the workers' garbage collection (c2c_ops/gc_tuning.py): ``post_worker_init`` freezes
what loading the app made, ``post_request`` the warm state after the first requests.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from c2c_ops import gc_tuning  # noqa: E402
from c2c_ops.metrics import directory  # noqa: E402

_var_dir = Path(os.environ.get("C2C_VAR_DIR") or ROOT / "var")
metrics_dir = directory.ensure(_var_dir)


def on_starting(server) -> None:
    removed = directory.remove_dead(metrics_dir)
    if removed:
        server.log.info("removed %d metric files of exited processes from %s", removed, metrics_dir)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(metrics_dir))


def post_worker_init(worker) -> None:
    gc_tuning.settle()


def post_request(worker, req, environ, resp) -> None:
    gc_tuning.request_done()
