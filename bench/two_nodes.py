"""A two-node rehearsal: two web nodes, two workers and a beat against one PostgreSQL and
one Redis, under a bounded load; then the ledger checked and the figures of each process.

    make bench-two-nodes      # or: DATABASE_URL=postgres://... .venv/bin/python bench/two_nodes.py

Each process is started on its own, as on its own machine: its own gunicorn (or Celery)
command, its own Prometheus directory (what that machine's /metrics would show). Beat
runs with BEAT_SCHEDULER=redis. Load goes to both web nodes from client threads: OTLP
exports, event batches and single events, some sent twice. When the load ends the bench
waits for the workers to drain the outbox and the change feed, then checks that the
ledger holds exactly what was sent and that every transaction has its metric facts.
Printed: the rate per path and node, each worker's tasks, and the drain time.
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from http_load import load  # noqa: E402
from ingest import create_key, database_url, event_bodies, prepare_database, span_exports  # noqa: E402

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


class Node:
    """One process tree, as one machine would run it, with its own metric files."""

    def __init__(self, name: str, command: list[str], url: str, folder: Path) -> None:
        self.name, self.command = name, command
        self.metrics = folder / name
        self.metrics.mkdir()
        self.log = folder / f"{name}.log"
        self.env = {
            **os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": REDIS,
            "BEAT_SCHEDULER": "redis", "PROMETHEUS_MULTIPROC_DIR": str(self.metrics),
            "C2C_VAR_DIR": str(folder / f"{name}-var"), "LOG_LEVEL": "WARNING",
            "METRICS_INTERVAL_SECONDS": "5", "EXCEPTIONS_INTERVAL_SECONDS": "5",
        }  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> "Node":
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def samples(self) -> dict[tuple[str, tuple], float]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.metrics))
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect()
            for s in family.samples
        }

    def total(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, found), value in self.samples().items()
            if sample == name and all(dict(found).get(k) == v for k, v in labels.items())
        )


def web(name: str, port: int, url: str, folder: Path) -> Node:
    command = [sys.executable, "-m", "gunicorn", "c2c_ops.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", "2", "--threads", "16", "--log-level", "warning"]  # fmt: skip
    return Node(name, command, url, folder)


def worker(name: str, url: str, folder: Path) -> Node:
    command = [sys.executable, "-m", "celery", "-A", "c2c_ops", "worker", "-n", f"{name}@%h",
               "--concurrency", "1", "--without-gossip", "--without-mingle",
               "--loglevel", "warning"]  # fmt: skip
    return Node(name, command, url, folder)


def beat(url: str, folder: Path) -> Node:
    command = [sys.executable, "-m", "celery", "-A", "c2c_ops", "beat", "--loglevel", "warning"]
    return Node("beat", command, url, folder)


def wait_ready(port: int) -> None:
    import http.client

    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the web node on :{port} did not start")


def both(ports: list[int], path: str, bodies: list[bytes], kind: str, key: str, clients: int):
    """Half the bodies to each web node, at the same time; seconds for all."""
    halves = [bodies[0::2], bodies[1::2]]
    elapsed = {}

    def send(i: int) -> None:
        elapsed[i] = load(ports[i], path, halves[i], kind, key, max(1, clients // 2)).elapsed

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def backlog(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        outbox = conn.execute(
            "SELECT count(*) FROM tracking_statuschange WHERE processed IS NULL"
        ).fetchone()[0]
        feed = conn.execute(
            "SELECT count(*) FROM tracking_changedtransaction WHERE due_at <= now()"
        ).fetchone()[0]
    return outbox, feed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=30_000)
    parser.add_argument("--events", type=int, default=10_000, help="in batches of 100")
    parser.add_argument("--single-events", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=300)
    args = parser.parse_args()

    url = database_url()
    prepare_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE tracking_statuschange, tracking_changedtransaction CASCADE")
    key = create_key(url)
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=True, capture_output=True)
    rng = random.Random(7)
    spans = span_exports(args.spans, rng)
    batches = event_bodies(args.events, 100, rng, "batch")
    singles = event_bodies(args.single_events, 1, rng, "single")

    folder = Path(tempfile.mkdtemp(prefix="c2c-two-nodes-"))
    ports = [8941, 8942]
    nodes = [web("web-a", ports[0], url, folder), web("web-b", ports[1], url, folder),
             worker("worker-a", url, folder), worker("worker-b", url, folder),
             beat(url, folder)]  # fmt: skip
    try:
        for node in nodes:
            node.start()
        for port in ports:
            wait_ready(port)
        protobuf, json = "application/x-protobuf", "application/json"
        timings = {
            "OTLP spans": (
                args.spans, both(ports, "/v1/traces", spans, protobuf, key, args.clients),
            ),
            "events in batches of 100": (
                args.events, both(ports, "/api/v1/events", batches, json, key, args.clients),
            ),
            "single events": (
                args.single_events, both(ports, "/api/v1/events", singles, json, key, args.clients),
            ),
        }  # fmt: skip
        # Resent, as a client that timed out would: counted once.
        both(ports, "/api/v1/events", singles[:200], json, key, args.clients)
        load_ended = time.perf_counter()
        while (pending := backlog(url)) != (0, 0):
            if time.perf_counter() - load_ended > args.drain_timeout:
                raise SystemExit(f"not drained after {args.drain_timeout:.0f} s: {pending}")
            time.sleep(1)
        drained = time.perf_counter() - load_ended
        time.sleep(2)  # the last task's metric files are written as it ends
        report(url, nodes, timings, drained, args)
    finally:
        for node in reversed(nodes):
            node.stop()
    print(f"logs and metric files: {folder}")


def report(url: str, nodes: list[Node], timings: dict, drained: float, args) -> None:
    print(f"{'path':<28}{'items':>9}{'seconds':>9}{'items/s':>10}")
    for label, (items, seconds) in timings.items():
        print(f"{label:<28}{items:>9,}{seconds:>9.1f}{items / seconds:>10,.0f}")
    print(f"backlog drained {drained:.1f} s after the load ended")
    print()
    print(
        f"{'process':<10}{'spans':>9}{'events':>9}{'dups':>7}{'tasks':>7}{'task s':>8}{'failed':>7}"
    )
    for node in nodes:
        spans = node.total("c2c_ingest_spans_total", outcome="accepted")
        events = node.total("c2c_ingest_events_total", outcome="accepted")
        dups = node.total("c2c_ingest_events_total", outcome="duplicate")
        tasks = node.total("c2c_task_duration_seconds_count")
        seconds = node.total("c2c_task_duration_seconds_sum")
        failed = node.total("c2c_task_failures_total")
        print(f"{node.name:<10}{spans:>9,.0f}{events:>9,.0f}{dups:>7,.0f}{tasks:>7,.0f}"
              f"{seconds:>8.1f}{failed:>7,.0f}")  # fmt: skip
    expected_events = args.events + args.single_events
    with psycopg.connect(url) as conn:
        stored = {
            "spans": conn.execute("SELECT count(*) FROM tracking_span").fetchone()[0],
            "events": conn.execute(
                "SELECT count(*) FROM tracking_event WHERE event_id LIKE 'batch-%%' "
                "OR event_id LIKE 'single-%%'"
            ).fetchone()[0],
            "span events": conn.execute(
                "SELECT count(*) FROM tracking_event WHERE event_id LIKE 'span:%%'"
            ).fetchone()[0],
            "stage spans": conn.execute(
                "SELECT count(*) FROM tracking_span WHERE stage <> ''"
            ).fetchone()[0],
            "transactions": conn.execute("SELECT count(*) FROM tracking_transaction").fetchone()[0],
            "without facts": conn.execute(
                "SELECT count(*) FROM tracking_transaction t WHERE NOT EXISTS "
                "(SELECT 1 FROM dashboards_fact f WHERE f.transaction_id = t.id)"
            ).fetchone()[0],
        }
    web_nodes = [n for n in nodes if n.name.startswith("web")]
    counted = sum(n.total("c2c_ingest_spans_total", outcome="accepted") for n in web_nodes)
    checks = {
        "spans stored = sent": stored["spans"] == args.spans == counted,
        "events stored = sent, resends once": stored["events"] == expected_events,
        "an event per stage span": stored["span events"] == stored["stage spans"] > 0,
        "every transaction has its facts": stored["without facts"] == 0,
        "both web nodes served": all(n.total("c2c_ingest_spans_total") > 0 for n in web_nodes),
        "both workers worked": all(
            n.total("c2c_task_duration_seconds_count") > 0 for n in nodes if "worker" in n.name
        ),
    }
    print()
    print(f"stored: {stored}")
    for check, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {check}")
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
