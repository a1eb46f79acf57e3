"""A flow's replay endpoint on 127.0.0.1: checks the signature and the idempotency key,
answers a scripted series of statuses, and remembers every request it got."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from exceptions import signing


class Receiver:
    def __init__(
        self,
        secret: str,
        statuses: list[int] | None = None,
        delay: float = 0,
        delays: list[float] | None = None,
    ) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])  # answered in turn; then 200
        self.delay = delay
        self.delays = list(delays or [])  # seconds to hold each request in turn; then delay
        self.arrived: list[str | None] = []  # idempotency keys, as requests come in
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replay"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def valid(self) -> list[dict]:
        return [r for r in self.requests if r["signature_ok"] and r["key_ok"]]

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                record = {
                    "body": payload,
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "signature_ok": signing.verify(
                        body, self.headers.get(signing.HEADER, ""), receiver.secret
                    ),
                    "key_ok": self.headers.get("Idempotency-Key") == payload.get("replay_id"),
                }
                with receiver.lock:
                    receiver.arrived.append(record["idempotency_key"])
                    hold = receiver.delays.pop(0) if receiver.delays else receiver.delay
                if hold:
                    time.sleep(hold)
                with receiver.lock:
                    receiver.requests.append(record)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if not (record["signature_ok"] and record["key_ok"]):
                    status = 401
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "no"}')

            def log_message(self, *args) -> None:
                pass

        return Handler
