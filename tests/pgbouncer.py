"""PgBouncer in transaction pooling mode, in front of the test database, for as long as a
test needs it. Debian's pgbouncer (apt, installed by .ci/run); tests skip without it."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.server import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return Path(BINARY).exists()


class PgBouncer:
    def __init__(self, database: str, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.database, self.host, self.server_port = database, host, port
        self.port = free_port()
        # Readable by the user it drops to when started as root (it refuses to run as root).
        self.folder = Path(tempfile.mkdtemp(prefix="c2c-pgbouncer-"))
        self.folder.chmod(0o777)
        self.process: subprocess.Popen | None = None

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def __enter__(self) -> "PgBouncer":
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"{self.database} = host={self.host} port={self.server_port} "
            f"dbname={self.database} user=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            # Two server sessions for many clients: consecutive transactions of one client
            # meet different sessions, which is what the app must survive.
            "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 100\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        for path in self.folder.iterdir():
            path.chmod(0o666)
        command = [BINARY, str(config)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(
                    self.url().replace("postgres://", "postgresql://", 1),
                    prepare_threshold=None,
                    connect_timeout=1,
                ) as probe:
                    probe.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"pgbouncer did not start:\n{self.log()}")

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)
