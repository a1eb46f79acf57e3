"""The demo's child processes (web server, Celery worker with beat), and how they stop.

Each child leads its own process group, so stopping it reaches what it started in turn
(gunicorn's workers, Celery's beat) and a Ctrl-C in the terminal reaches only the demo,
which then stops them in order. SIGTERM is taken like Ctrl-C: a demo stopped by a
supervisor, or by ``kill``, leaves nothing listening behind it.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

# Set once a stop signal arrived: commands the demo runs (``simulate``) take Ctrl-C as
# "stop what you are doing" and return normally, so the demo asks this flag afterwards.
stopping = threading.Event()


def _on_stop(signum, frame) -> None:
    stopping.set()
    ignore_stop_signals()
    raise KeyboardInterrupt


def ignore_stop_signals() -> None:
    """While cleaning up: a second signal must not cut that short (it has its own limits)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def take_stop_signals() -> None:
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGTERM, _on_stop)


class Children:
    """Started processes, stopped together: SIGTERM to each group, SIGKILL after a wait."""

    def __init__(self, cwd: str, env: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: Sequence[str]) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            list(args), cwd=self.cwd, env=self.env, start_new_session=True
        )
        self.started.append((name, process))
        return process

    def exited(self) -> str | None:
        """The name of a child that has exited, if any."""
        return next((name for name, p in self.started if p.poll() is not None), None)

    def describe(self) -> str:
        return ", ".join(f"{name} {p.pid}" for name, p in self.started)

    def stop(self, grace: float = 15.0) -> list[str]:
        """Stop every child's whole group; the names of those that had to be killed."""
        for _, process in self.started:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        killed = []
        for name, process in self.started:
            while time.monotonic() < deadline and (
                process.poll() is None or _group_alive(process.pid)
            ):
                time.sleep(0.1)
            if process.poll() is None or _group_alive(process.pid):
                _signal_group(process.pid, signal.SIGKILL)
                killed.append(name)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        return killed


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting for a reaper do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc (macOS): a zombie cannot be told apart, so count it
    return any(_running_in_group(pid, pgid) for pid in pids)


def _running_in_group(pid: int, pgid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    # After the command's name: state, ppid, pgrp.
    return len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z"
