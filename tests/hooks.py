"""Loopback stand-ins for what alerts reach: an SMTP server (aiosmtpd) and an HTTP endpoint
that records every request and answers a scripted series of statuses."""

import asyncio
import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from django.test import override_settings


class SmtpServer:
    """A real SMTP server on 127.0.0.1; ``messages`` holds what it accepted, parsed."""

    def __init__(self, hold: float = 0, refuse: tuple[str, ...] = ()) -> None:
        self.refuse = set(refuse)  # addresses answered "550 no such user"
        self.messages: list = []
        self.arrived = 0  # DATA commands begun, accepted or not
        self.hold = hold  # seconds to sit on the first message before accepting it
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.arrived += 1
        if self.arrived == 1 and self.hold:
            # If the client goes away meanwhile, aiosmtpd cancels this: nothing is delivered.
            await asyncio.sleep(self.hold)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": envelope.rcpt_tos, "message": parsed})
        return "250 Message accepted for delivery"

    def settings(self, **extra):
        """Django's real SMTP backend pointed at this server (not the in-memory outbox)."""
        return override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            **extra,
        )

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HookServer:
    """Records each POST (path, headers, raw and JSON body); answers ``replies`` in turn,
    each (status, body); then 200 "ok". ``hold`` seconds delay the first request."""

    def __init__(self, replies: list[tuple[int, str]] | None = None, hold: float = 0) -> None:
        self.replies = list(replies or [])
        self.hold = hold
        self.requests: list[dict] = []
        self.arrived = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-path"

    def __enter__(self) -> "HookServer":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hooks.lock:
                    hooks.arrived += 1
                    first = hooks.arrived == 1
                if first and hooks.hold:
                    time.sleep(hooks.hold)
                with hooks.lock:
                    hooks.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "raw": raw,
                         "json": json.loads(raw or b"null")}
                    )  # fmt: skip
                    status, body = hooks.replies.pop(0) if hooks.replies else (200, "ok")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        return Handler
