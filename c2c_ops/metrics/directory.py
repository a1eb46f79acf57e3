"""The multiprocess directory: where each process writes its own metric files.

prometheus_client decides at its first import whether values live in memory or in files
under PROMETHEUS_MULTIPROC_DIR, so the variable is set (settings, gunicorn.conf.py) before
anything imports it. No Django here: gunicorn's master uses this without settings.
"""

import os
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def ensure(var_dir: Path) -> Path:
    """The directory named by PROMETHEUS_MULTIPROC_DIR, by default ``var_dir/prometheus``,
    set in the environment for this process and its children, and created if missing."""
    os.environ.setdefault(VARIABLE, str(var_dir / "prometheus"))
    path = Path(os.environ[VARIABLE])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead(path: Path) -> int:
    """Delete the files of processes no longer running; how many went.

    Called as gunicorn starts. Not a wipe of the whole directory: a Celery worker on the
    same host may share it, and its running processes keep their files open; deleting
    those would hide their counts until they exit. Files are named ``<kind>_<pid>.db``.
    """
    removed = 0
    for file in path.glob("*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            file.unlink(missing_ok=True)
            removed += 1
    return removed
