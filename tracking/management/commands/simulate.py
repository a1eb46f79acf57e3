import heapq
import random
import re
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tracking.models import Flow, FlowAPIKey
from tracking.simulation.chains import plan_contract
from tracking.simulation.delivery import Delivery
from tracking.simulation.scenario import FLOWS

WINDOW = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


CHAIN_LENGTH = 6


def window(text: str) -> timedelta:
    match = WINDOW.match(text.strip())
    if not match:
        raise CommandError(f"--backfill takes a window like 30d, 12h or 90m, not {text!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def simulator_keys(slugs: list[str]) -> dict[str, str]:
    """Create the simulated flows where missing, and a fresh ingest key for each."""
    keys = {}
    for slug in slugs:
        source, target, team, _ = FLOWS[slug]
        flow, _ = Flow.objects.get_or_create(
            slug=slug,
            defaults={
                "name": f"{source.upper()} to {target.upper()}",
                "source_system": source,
                "target_system": target,
                "owner_team": team,
            },
        )
        _, keys[slug] = FlowAPIKey.objects.create_key(
            flow=flow, scopes=["ingest"], name="simulator"
        )
    return keys


class Command(BaseCommand):
    help = (
        "Simulated contract-to-cash traffic against a running c2c-ops, through its real "
        "interfaces: OTLP spans (stock OpenTelemetry exporter) and the events API. "
        "--backfill 30d writes a month of history fast; otherwise traffic flows live."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--key",
            action="append",
            default=[],
            metavar="FLOW=KEY",
            help="an ingest key per simulated flow; without any, keys are created in this "
            "instance's database (the usual case: same settings as the server)",
        )
        parser.add_argument("--backfill", type=window, help="write history for this window")
        parser.add_argument(
            "--per-day",
            type=int,
            default=150,
            help="transactions started per day in --backfill (default 150)",
        )
        parser.add_argument(
            "--live", action="store_true", help="after --backfill, go on with live traffic"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=6.0,
            help="live transactions started per minute (default 6)",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=0,
            help="seconds of live traffic; 0 runs until interrupted",
        )
        parser.add_argument(
            "--time-scale",
            type=float,
            default=1 / 360,
            help="live: time between stages is scaled by this (default 1/360: "
            "an hour's wait takes 10 s)",
        )
        parser.add_argument("--seed", type=int, help="same seed, same traffic")

    def handle(self, *args, **options):
        seed = options["seed"] if options["seed"] is not None else int(time.time()) % 100_000
        keys = self._keys(options["key"])
        delivery = Delivery(options["url"], keys, seed=seed)
        numbers = iter(range(seed * 100_000, seed * 100_000 + 10**9))
        rng = random.Random(seed)
        try:
            if options["backfill"]:
                self._backfill(delivery, rng, numbers, options["backfill"], options["per_day"])
            if options["live"] or not options["backfill"]:
                self._live(delivery, rng, numbers, options)
        except KeyboardInterrupt:
            self.stderr.write("interrupted")
        finally:
            totals = delivery.close()
            self.stdout.write(f"Done: {totals.line()}")
            for sample in totals.error_samples:
                self.stdout.write(f"  refused: {sample}")

    def _keys(self, given: list[str]) -> dict[str, str]:
        keys = {}
        for item in given:
            flow, sep, key = item.partition("=")
            if not sep or flow not in FLOWS:
                raise CommandError(f"--key takes FLOW=KEY with FLOW one of {', '.join(FLOWS)}")
            keys[flow] = key
        missing = [f for f in FLOWS if f not in keys]
        if missing:
            keys.update(simulator_keys(missing))
            self.stderr.write(f"Created simulator keys for {len(missing)} flow(s).")
        return keys

    def _backfill(self, delivery, rng, numbers, span: timedelta, per_day: int) -> None:
        now = timezone.now()
        count = max(1, round(per_day * span / timedelta(days=1)))
        reports = []
        planned = 0
        # Contracts' chains, until the transactions begun by now make the count.
        while planned < count:
            started = now - span * rng.random()
            for plan in plan_contract(rng, next(numbers), started):
                sent = [r for r in plan if r.occurred_at <= now]
                if not sent:
                    continue
                reports += sent
                planned += 1
                if planned == count:
                    break
        reports.sort(key=lambda r: r.occurred_at)
        # Real flows are not tidy: some reports arrive much later than their neighbours,
        # and some are sent twice by a flow's own retry.
        late = {i for i in range(len(reports)) if rng.random() < 0.03}
        order = [r for i, r in enumerate(reports) if i not in late]
        order += [reports[i] for i in sorted(late)]
        order += [r for r in reports if r.transport == "event" and rng.random() < 0.01]
        self.stdout.write(
            f"Backfilling {span.days}d {span.seconds // 3600}h: {count} transactions, "
            f"{len(order)} reports to {delivery.base_url}"
        )
        chunk = 2000
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            rng.shuffle(part)  # out of order within what arrives together
            delivery.send(part)
            done = min(start + chunk, len(order))
            self.stdout.write(f"  {done}/{len(order)} reports ({100 * done // len(order)}%)")

    def _live(self, delivery, rng, numbers, options) -> None:
        rate = options["rate"] / 60.0
        scale = options["time_scale"]
        deadline = time.monotonic() + options["duration"] if options["duration"] else None
        pending: list[tuple] = []
        self.stdout.write(
            f"Live traffic: {options['rate']}/min to {delivery.base_url} (Ctrl-C stops)"
        )
        tick = 0
        while deadline is None or time.monotonic() < deadline:
            now = timezone.now()
            # A contract's chain is about six transactions: the rate counts transactions.
            for _ in range(_poisson(rng, rate / CHAIN_LENGTH)):
                for plan in plan_contract(rng, next(numbers), now, time_scale=scale):
                    for report in plan:
                        heapq.heappush(pending, (report.occurred_at, report.event_id, report))
            due = []
            while pending and pending[0][0] <= now:
                due.append(heapq.heappop(pending)[2])
            if due:
                delivery.send(due)
            tick += 1
            if tick % 30 == 0:
                self.stdout.write(f"  {delivery.totals.line()}")
            time.sleep(1.0)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: arrivals of one second at the given rate.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
