"""The demo's stand-in for the flows' replay endpoints, on 127.0.0.1.

It takes a replay as a flow would (docs/api.md): checks ``C2C-Signature`` with the flow's
secret and answers 401 if it does not hold, answers 202, then re-runs the stage, which here
means reporting it succeeded through the events API with the flow's own key. c2c-ops then
settles the replay and the case by itself, as it would for a real flow.

The signature check is written out with ``hmac`` rather than imported: it is the external
contract a flow implements, and this app sits below the one that signs.
"""

import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)
TOLERANCE = 300  # seconds a signed request stays good: older copies are refused
MAX_BODY = 64 * 1024
# How long to wait for c2c-ops to record the replay as sent before reporting anyway.
SENT_WAIT = 60.0


def signature_ok(body: bytes, header: str, secret: str, now: float | None = None) -> bool:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, made within TOLERANCE seconds."""
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class FlowEnd:
    """What the receiver knows of one flow: its signing secret and an ingest+read key."""

    secret: str
    key: str


class ReplayReceiver:
    """``POST /replay/<flow-slug>``; ``url_for(slug)`` is the URL to give the flow."""

    def __init__(self, app_url: str, flows: dict[str, FlowEnd], log_path: Path) -> None:
        self.app_url = app_url.rstrip("/")
        self.flows = flows
        self.log_path = log_path
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        # Reports go out after the answer, a few at a time, as a flow's job queue would.
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="demo-replay")

    def url_for(self, slug: str) -> str:
        return f"http://127.0.0.1:{self.port}/replay/{slug}"

    def start(self) -> "ReplayReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def note(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.lock, self.log_path.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {line}\n")

    def accept(self, slug: str, replay: dict) -> bool:
        """Queue the re-run; False if this replay id was already taken (a resend)."""
        replay_id = str(replay.get("replay_id", ""))
        with self.lock:
            if replay_id in self.seen:
                return False
            self.seen.add(replay_id)
        self.pool.submit(self._rerun, slug, replay)
        return True

    def _rerun(self, slug: str, replay: dict) -> None:
        flow = self.flows[slug]
        auth = {"Authorization": f"Bearer {flow.key}"}
        cid = str(replay.get("correlation_id", ""))
        try:
            with httpx.Client(base_url=self.app_url, headers=auth, timeout=10) as client:
                # Until c2c-ops has recorded the replay as sent, a success would read as
                # "done before the replay went out" and the replay would be withdrawn.
                self._wait_until_sent(client, cid, str(replay.get("replay_id")))
                response = client.post(
                    "/api/v1/events",
                    json={
                        "event_id": f"replay-{replay['replay_id']}",
                        "correlation_id": cid,
                        "journey": replay["journey"],
                        "stage": replay["stage"],
                        "status": "succeeded",
                        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        "attributes": {"replay_id": replay["replay_id"]},
                    },
                )
            self.note(f"{slug} {cid} {replay['stage']}: re-ran, reported {response.status_code}")
        except (httpx.HTTPError, KeyError) as exc:
            self.note(f"{slug} {cid}: could not report the re-run: {exc!r}")

    def _wait_until_sent(self, client: httpx.Client, cid: str, replay_id: str) -> None:
        deadline = time.monotonic() + SENT_WAIT
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/transactions/{quote(cid, safe='')}")
            if response.status_code == 200:
                replays = response.json().get("replays") or []
                status = next((r["status"] for r in replays if str(r["id"]) == replay_id), "")
                if status and status not in ("requested", "awaiting_approval"):
                    return
            time.sleep(0.5)


def _handler(receiver: ReplayReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            prefix, _, slug = self.path.partition("/replay/")
            flow = receiver.flows.get(slug.strip("/")) if not prefix else None
            if flow is None:
                return self._answer(404, {"error": "no such flow"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, {"error": "too large"})
            body = self.rfile.read(length)
            if not signature_ok(body, self.headers.get("C2C-Signature", ""), flow.secret):
                receiver.note(f"{slug} refused: bad or stale signature")
                return self._answer(401, {"error": "bad signature"})
            try:
                replay = json.loads(body)
            except ValueError:
                return self._answer(400, {"error": "not JSON"})
            if self.headers.get("Idempotency-Key") != replay.get("replay_id"):
                return self._answer(400, {"error": "Idempotency-Key is not the replay id"})
            fresh = receiver.accept(slug.strip("/"), replay)
            receiver.note(
                f"{slug} {replay.get('correlation_id')} {replay.get('stage')}: "
                f"{'accepted' if fresh else 'already accepted'} replay {replay.get('replay_id')}"
            )
            # 202 the first time; a resend of a replay already taken is simply acknowledged.
            self._answer(202 if fresh else 200, {"accepted": replay.get("replay_id")})

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # the receiver keeps its own log

    return Handler
