"""`manage.py demo`: stopping it (SIGTERM like Ctrl-C) leaves no process behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dashboards.demo.processes import Children
from tests.server import ROOT, free_port

MANAGE = [sys.executable, "manage.py"]


def test_stopping_children_reaches_their_groups_and_kills_the_stubborn(tmp_path):
    children = Children(str(tmp_path), os.environ)
    # A child that starts a grandchild, and one that ignores SIGTERM.
    children.start("pair", ["sh", "-c", "sleep 300 & wait"])
    children.start("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"])
    time.sleep(0.5)
    groups = [p.pid for _, p in children.started]
    assert all(_group_members(g) for g in groups)

    killed = children.stop(grace=2)

    assert killed == ["stubborn"]
    assert [g for g in groups if _group_members(g)] == []


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    return [pid for pid, (group, state) in _processes().items() if group == pgid and state != "Z"]


def _processes() -> dict[int, tuple[int, str]]:
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(name)] = (int(fields[2]), fields[0])
    return found


def _descendants(root: int) -> set[int]:
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    processes = _processes()
    return {pid for pid in pids if pid in processes and processes[pid][1] != "Z"}


@pytest.mark.live
def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # The demo's own embedded setup, apart from the suite's database and broker.
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "C2C_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            [*MANAGE, "demo", "--port", str(port), "--per-day", "2", "--no-live"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    spawned: set[int] = set()
    try:
        _wait_for(lambda: "c2c-ops is up" in out.read_text(), 120, out)
        assert httpx.get(f"{url}/healthz").status_code == 200
        spawned = _descendants(demo.pid)
        assert len(spawned) >= 4  # gunicorn and its workers, celery and its beat
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            code = None
        left = _alive(spawned)
        for pid in left:
            os.kill(pid, signal.SIGKILL)

    assert code == 0, out.read_text()[-3000:]
    assert left == set(), out.read_text()[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def _wait_for(check, seconds: float, out: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"gave up after {seconds} s; the demo said:\n{out.read_text()[-3000:]}")
