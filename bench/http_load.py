"""The benches' HTTP client: bodies sent over kept-alive connections, latency of each.

One asyncio loop drives every connection: a thread per connection cost about a tenth of
the machine the server shares with it (bench and server on one host), which the server's
figures would then lack.
"""

import asyncio
import time


class Run:
    """One path's load: elapsed seconds and each request's latency."""

    def __init__(self, elapsed: float, latencies: list[float]) -> None:
        self.elapsed = elapsed
        self.latencies = sorted(latencies)

    def percentile(self, share: float) -> float:
        """Milliseconds under which ``share`` of the requests were answered."""
        at = min(len(self.latencies) - 1, int(len(self.latencies) * share))
        return self.latencies[at] * 1000


def load(
    port: int,
    path: str,
    bodies: list[bytes],
    content_type: str,
    key: str,
    clients: int,
    method: str = "POST",
) -> Run:
    """Send every body once over ``clients`` kept-alive connections, each awaiting its answer
    before sending the next. One asyncio loop drives them all: a thread per connection cost
    a tenth of the machine the server shares with it (bench and server on one host)."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {key}\r\n"
    ).encode()
    return asyncio.run(_send_all(port, head, bodies, clients))


async def _send_all(port: int, head: bytes, bodies: list[bytes], clients: int) -> Run:
    """Each body after ``head`` (the request line and fixed headers)."""
    queue = iter(bodies)  # shared by the connections; one thread, so no lock
    failures: list[int] = []
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in queue:
                sent = time.perf_counter()
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, closes = await _answer(reader)
                latencies.append(time.perf_counter() - sent)
                if status not in (200, 202):
                    failures.append(status)
                if closes:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return Run(elapsed, latencies)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status, and whether the server closes the connection."""
    status = int((await reader.readline()).split()[1])
    length, closes = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            closes = value == b"close"
        elif name == b"transfer-encoding":
            raise SystemExit(f"unexpected Transfer-Encoding {value!r} in an answer")
    await reader.readexactly(length)
    return status, closes
