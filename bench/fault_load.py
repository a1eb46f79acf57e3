"""The load of bench/faults.py: status callbacks in batches, each sent until it gets a
2xx, and the tally of what the clients were told."""

import http.client
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

PER_BATCH = 25


@dataclass
class Tally:
    batches_sent: int = 0
    events_sent: int = 0
    batches_2xx_first_try: int = 0
    batches_retried: int = 0
    retries: int = 0
    answers_5xx: int = 0
    broken_connections: int = 0
    gave_up: int = 0
    accepted: int = 0
    duplicates: int = 0
    item_errors: int = 0
    acked: set[str] = field(default_factory=set)
    failed_transactions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def batches(count: int, rng: random.Random) -> list[tuple[list[dict], set[str]]]:
    """Batches of two events per transaction; the correlation IDs whose invoice failed."""
    base = datetime.now(UTC) - timedelta(hours=2)
    out = []
    for b in range(count):
        items, failed = [], set()
        for t in range(PER_BATCH // 2 + PER_BATCH % 2):
            cid = f"FLT-{b:05d}-{t:02d}"
            moment = base + timedelta(seconds=b)
            items.append(
                {
                    "event_id": f"{cid}-a",
                    "correlation_id": cid,
                    "journey": "billing",
                    "stage": "work_approved",
                    "status": "succeeded",
                    "occurred_at": moment.isoformat(),
                    "amount": f"{rng.uniform(100, 9000):.2f}",
                    "currency": "USD",
                    "region": rng.choice(["NA", "EMEA", "APAC"]),
                }
            )
            if len(items) == PER_BATCH:
                break
            fails = rng.random() < 0.1
            if fails:
                failed.add(cid)
            items.append(
                {
                    "event_id": f"{cid}-b",
                    "correlation_id": cid,
                    "stage": "invoice_generated",
                    "status": "failed" if fails else "succeeded",
                    "occurred_at": (moment + timedelta(minutes=5)).isoformat(),
                    "error": {"code": "ERP-503"} if fails else {},
                }
            )
        out.append((items, failed))
    return out


def send_all(port: int, key: str, work: list, clients: int, tally: Tally) -> None:
    queue = iter(range(len(work)))
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            items, failed = work[index]
            body = orjson.dumps(items)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            attempts = 0
            while True:
                attempts += 1
                wait = 0.2
                try:
                    conn.request("POST", "/api/v1/events", body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    if response.status == 202:
                        reply = orjson.loads(data)
                        break
                    with tally.lock:
                        tally.answers_5xx += response.status >= 500
                    if response.status < 500:
                        raise SystemExit(f"HTTP {response.status}: {data[:200]!r}")
                    wait = min(float(response.getheader("Retry-After") or 1), 0.5)
                except (OSError, http.client.HTTPException):
                    with tally.lock:
                        tally.broken_connections += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if attempts >= 400:
                    with tally.lock:
                        tally.gave_up += 1
                    reply = None
                    break
                time.sleep(wait * random.uniform(0.5, 1.5))
            with tally.lock:
                tally.batches_sent += 1
                tally.events_sent += len(items)
                if attempts == 1:
                    tally.batches_2xx_first_try += 1
                else:
                    tally.batches_retried += 1
                    tally.retries += attempts - 1
                if reply is not None:
                    tally.accepted += reply["accepted"]
                    tally.duplicates += reply["duplicates"]
                    tally.item_errors += len(reply["errors"])
                    tally.acked.update(item["event_id"] for item in items)
                    tally.failed_transactions |= failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
