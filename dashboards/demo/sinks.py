"""Where the demo's alerts land: a mail sink (SMTP) and a Slack-shaped webhook, on 127.0.0.1.

Each keeps what it receives as files a user can open (``.eml`` mails, ``.json`` Slack
messages), so the alerts and the daily digest are real deliveries, with a history, rather
than a console backend nobody reads.
"""

import itertools
import json
import logging
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

MAX_BODY = 1024 * 1024


def _name(folder: Path, counter: itertools.count, suffix: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return folder / f"{stamp}-{next(counter):05d}{suffix}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailSink:
    """An SMTP server that accepts every message and writes it to ``folder`` as .eml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        # aiosmtpd checks the server answers on the port it was given, so not port 0.
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        # aiosmtpd narrates every SMTP command at INFO: the files are the record here.
        logging.getLogger("mail.log").setLevel(logging.WARNING)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            path = _name(self.folder, self.counter, ".eml")
        # The envelope's recipients head the file: a Bcc'd reader is not in the headers.
        head = "".join(f"X-Demo-Envelope-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        path.write_bytes(head.encode() + envelope.content)
        return "250 Message accepted for delivery"

    def start(self) -> "MailSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class SlackSink:
    """Accepts Slack incoming-webhook posts (``/services/...``) and answers as Slack does:
    ``200 ok``; a body without ``text`` or ``blocks`` gets ``400 no_text``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _slack_handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url_for(self, team: str) -> str:
        return f"http://127.0.0.1:{self.port}/services/TDEMO/B{team.upper()}/demo"

    def keep(self, path: str, message: dict) -> None:
        with self.lock:
            target = _name(self.folder, self.counter, ".json")
        target.write_text(json.dumps({"webhook": path, **message}, indent=2), encoding="utf-8")

    def start(self) -> "SlackSink":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _slack_handler(sink: SlackSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if not self.path.startswith("/services/"):
                return self._answer(404, b"no_service")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, b"request_too_large")
            try:
                message = json.loads(self.rfile.read(length))
            except ValueError:
                return self._answer(400, b"invalid_payload")
            if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
                return self._answer(400, b"no_text")
            sink.keep(self.path, message)
            self._answer(200, b"ok")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
