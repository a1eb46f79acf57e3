import os
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import log as audit
from tracking.management.commands.simulate import simulator_keys
from tracking.models import Transaction
from tracking.simulation.scenario import FLOWS

from ...demo import history, processes, wiring
from ...demo.replay_receiver import ReplayReceiver
from ...demo.sinks import MailSink, SlackSink
from ...models import RiskSnapshot, RiskSnapshotTaken

HISTORY = timedelta(days=30)


class Command(BaseCommand):
    help = (
        "The README's demo: migrate, seed, create the users, start the web server, a Celery "
        "worker with beat, a mail sink, a Slack-shaped webhook and the flows' replay "
        "endpoint on 127.0.0.1, write a month of simulated history through the APIs, then "
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
        sinks = []
        try:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            self._demo_rates()
            passwords = wiring.users()
            var = Path(settings.VAR_DIR)
            mail = MailSink(var / "demo-mail").start()
            slack = SlackSink(var / "demo-slack").start()
            receiver = ReplayReceiver(url, {}, var / "demo-replays.log").start()
            sinks += [mail, slack, receiver]
            receiver.flows.update(wiring.replay_ends(receiver.url_for))
            wiring.channels(slack.url_for)
            wiring.digest("admin")
            self._configure(children, url, mail.port)
            self._start(children, host, port)
            self._wait(url, children)
            self._history(url, options["per_day"])
            self._banner(url, passwords, mail, slack, receiver, children)
            self._run(url, children, live=not options["no_live"])
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            processes.ignore_stop_signals()
            killed = children.stop()
            for sink in sinks:
                sink.stop()
            if killed:
                self.stdout.write(f"killed after the grace period: {', '.join(killed)}")
            self.stdout.write("Demo stopped: no process of it is left running.")

    def _configure(self, children: processes.Children, url: str, mail_port: int) -> None:
        """Alerts and the digest go to the mail sink, with links to this server, both in
        the children and here (``compute_metrics`` sends what is due from this process)."""
        overrides = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": mail_port,
            "EMAIL_USE_TLS": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "C2C_BASE_URL": url,
            # The digest goes out at the first run of the day, not only after 07:00 UTC.
            "DIGEST_HOUR": 0,
        }
        for name, value in overrides.items():
            setattr(settings, name, value)
            children.env.pop(f"{name}_FILE", None)
            children.env[name] = str(value).lower() if isinstance(value, bool) else str(value)

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
        """A month of simulated history, the first time only, and its risk history."""
        if Transaction.objects.exists():
            return
        loading = timezone.now()
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
        # The worker's snapshots of a half-loaded ledger would chart as a dip: drop them.
        taken = RiskSnapshotTaken.objects.filter(taken_at__gte=loading)
        RiskSnapshot.objects.filter(taken_at__gte=loading).delete()
        taken.delete()
        call_command("compute_metrics")
        now = timezone.now()
        started = time.monotonic()
        written = history.rebuild(now - HISTORY, now)
        self.stdout.write(
            f"revenue at risk: {written} hourly snapshots of the past month rebuilt from the "
            f"ledger's events in {time.monotonic() - started:.1f} s (failed, stuck and due "
            "soon; SLA breaches only from now on)"
        )

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

    def _banner(self, url, passwords, mail, slack, receiver, children) -> None:
        people = "\n".join(
            f"  sign in as {name} / {password}" for name, password in passwords.items()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"\nc2c-ops is up at {url}/\n{people}\n"
                "  (ops is an operator: the second person a large replay needs)\n"
                f"  overview:       {url}/\n"
                f"  exceptions:     {url}/exceptions/  (replays go to the demo's flows)\n"
                f"  notifications:  {url}/exceptions/notifications/\n"
                f"  the API:        {url}/api/docs/\n"
                f"  mails (alerts, the daily digest): {mail.folder}/*.eml "
                f"(SMTP on 127.0.0.1:{mail.port})\n"
                f"  Slack messages: {slack.folder}/*.json (127.0.0.1:{slack.port})\n"
                f"  replays received: {receiver.log_path} (127.0.0.1:{receiver.port})\n"
                f"  processes: {children.describe()} (stopped with the demo)\n"
            )
        )

    def _demo_rates(self) -> None:
        """Illustrative FX rates (not market data), so the demo's money adds up."""
        from dashboards.fx import import_csv
        from dashboards.models import FxRate

        if not FxRate.objects.exists():
            path = Path(settings.BASE_DIR) / "dashboards" / "demo" / "fx_rates.csv"
            import_csv(path.read_text(encoding="utf-8"), audit.command(), source=path.name)

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
