import os
import secrets
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tracking.management.commands.simulate import simulator_keys
from tracking.models import Transaction
from tracking.simulation.scenario import FLOWS

from ...demo import processes

HISTORY = timedelta(days=30)


class Command(BaseCommand):
    help = (
        "The README's demo: migrate, seed, create the admin user, start the web server and a "
        "Celery worker with beat, write a month of simulated history through the APIs, then "
        "keep live traffic going until Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--per-day", type=int, default=120, help="history density")
        parser.add_argument(
            "--no-live", action="store_true", help="no live traffic after the history"
        )

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise CommandError(f"{host}:{port} is already in use; pass --port")
        processes.take_stop_signals()
        url = f"http://{host}:{port}"
        children = processes.Children(str(settings.BASE_DIR), os.environ)
        try:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            self._demo_rates()
            password = self._admin()
            self._start(children, host, port)
            self._wait(url, children)
            self._history(url, options["per_day"])
            self._banner(url, password, children)
            self._run(url, children, live=not options["no_live"])
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            processes.ignore_stop_signals()
            killed = children.stop()
            if killed:
                self.stdout.write(f"killed after the grace period: {', '.join(killed)}")
            self.stdout.write("Demo stopped: no process of it is left running.")

    def _start(self, children: processes.Children, host: str, port: int) -> None:
        # gunicorn, as in production; 2 workers suit the embedded SQLite (one writer at a time).
        web = [
            "-m",
            "gunicorn",
            "c2c_ops.wsgi",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ]
        children.start("web", [sys.executable, *web, "--bind", f"{host}:{port}"])
        # The worker with beat: sweep, rollups, risk, cases, replays, alerts, digest.
        schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
        worker = [
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
        ]
        children.start("worker", [sys.executable, *worker, "--schedule", str(schedule)])

    def _history(self, url: str, per_day: int) -> None:
        """A month of simulated history, the first time only."""
        if Transaction.objects.exists():
            return
        call_command(
            "simulate",
            "--url",
            url,
            "--backfill",
            f"{HISTORY.days}d",
            "--per-day",
            str(per_day),
            "--seed",
            "2026",
            *self._keys(),
        )
        self._check_stop()
        call_command("compute_metrics")

    def _run(self, url: str, children: processes.Children, live: bool) -> None:
        if live:
            call_command("simulate", "--url", url, *self._keys())
            self._check_stop()
        # Without live traffic (or if it ends), serve until stopped or a child dies.
        while (gone := children.exited()) is None:
            time.sleep(0.5)
        raise CommandError(f"the {gone} process exited; see its output above")

    def _keys(self) -> list[str]:
        return [f"--key={flow}={key}" for flow, key in simulator_keys(list(FLOWS)).items()]

    def _check_stop(self) -> None:
        # ``simulate`` takes Ctrl-C as "stop sending" and returns: the demo stops too.
        if processes.stopping.is_set():
            raise KeyboardInterrupt

    def _banner(self, url, password, children) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"\nc2c-ops is up at {url}/\n"
                f"  sign in as admin / {password}\n"
                f"  overview:       {url}/\n"
                f"  exceptions:     {url}/exceptions/\n"
                f"  the API:        {url}/api/docs/\n"
                f"  processes: {children.describe()} (stopped with the demo)\n"
            )
        )

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

    def _wait(self, url: str, children: processes.Children) -> None:
        for _ in range(60):
            if (gone := children.exited()) is not None:
                raise CommandError(f"the {gone} process exited; see its output above")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise CommandError(f"the web server did not answer on {url} within 30 s")
