import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tracking.management.commands.simulate import simulator_keys
from tracking.models import Transaction
from tracking.simulation.scenario import FLOWS


class Command(BaseCommand):
    help = (
        "The README's demo: migrate, seed, create the admin user, serve on 127.0.0.1:8000, "
        "write a month of simulated history through the APIs, then keep live traffic going."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--per-day", type=int, default=120, help="history density")
        parser.add_argument("--no-live", action="store_true", help="stop after the history")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise CommandError(f"{host}:{port} is already in use; pass --port")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._demo_rates()
        password = self._admin()
        url = f"http://{host}:{port}"
        # gunicorn, as in production; 2 workers suit the embedded SQLite (one writer at a time).
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "c2c_ops.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
        )
        # The Celery worker with beat: the stuck sweep, rollups and risk snapshots.
        worker = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "c2c_ops",
                "worker",
                "--beat",
                "--pool",
                "solo",
                "--loglevel",
                "warning",
                "--schedule",
                str(Path(settings.VAR_DIR) / "celerybeat-schedule"),
            ],
            cwd=settings.BASE_DIR,
        )
        keys = [f"--key={flow}={key}" for flow, key in simulator_keys(list(FLOWS)).items()]
        try:
            self._wait(url, server)
            if not Transaction.objects.exists():
                call_command(
                    "simulate",
                    "--url",
                    url,
                    "--backfill",
                    "30d",
                    "--per-day",
                    str(options["per_day"]),
                    "--seed",
                    "2026",
                    *keys,
                )
                call_command("compute_metrics")
            self.stdout.write(
                self.style.SUCCESS(
                    f"\nc2c-ops is up at {url}/\n"
                    f"  sign in as admin / {password}\n"
                    f"  overview:    {url}/\n"
                    f"  exceptions:  {url}/exceptions/\n"
                    f"  the API:     {url}/api/docs/\n"
                )
            )
            if options["no_live"]:
                server.wait()
            else:
                call_command("simulate", "--url", url, *keys)
        except KeyboardInterrupt:
            pass
        finally:
            for process in (server, worker):
                process.terminate()
            for process in (server, worker):
                process.wait(timeout=10)

    def _demo_rates(self) -> None:
        """Illustrative FX rates (not market data), so the demo's money adds up."""
        from dashboards.fx import import_csv
        from dashboards.models import FxRate

        if not FxRate.objects.exists():
            path = Path(settings.BASE_DIR) / "dashboards" / "demo" / "fx_rates.csv"
            import_csv(path.read_text(encoding="utf-8"))

    def _admin(self) -> str:
        """The demo admin's password: made once, kept under var/ so reruns can show it."""
        path = Path(settings.VAR_DIR) / "demo-admin-password"
        user = User.objects.filter(username="admin").first()
        if user is not None and path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        user = user or User(username="admin", email="admin@example.test")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name="admin"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password

    def _wait(self, url: str, server: subprocess.Popen) -> None:
        for _ in range(60):
            if server.poll() is not None:
                raise CommandError("the web server exited; see its output above")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise CommandError(f"the web server did not answer on {url} within 30 s")
