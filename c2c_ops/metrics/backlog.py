"""Backlog gauges, read from the database when Prometheus scrapes.

Work the app has yet to do: outbox rows no consumer has claimed, change-feed entries due,
dead letters waiting, and exception cases not resolved. Each is a count over a small
partial or plain index. The queries share a statement timeout, so a slow database makes
a scrape report ``c2c_backlog_up 0`` rather than hang it.
"""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from exceptions.models import ExceptionCase
from exceptions.models.cases import LIVE_STATUSES
from tracking.models import ChangedTransaction, DeadLetter, StatusChange

log = logging.getLogger(__name__)

TIMEOUT_MS = 2000


def _age(oldest: datetime | None, now: datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def _read(now: datetime) -> dict:
    pending = StatusChange.objects.filter(processed__isnull=True)
    due = ChangedTransaction.objects.filter(due_at__lte=now)
    cases = dict(
        ExceptionCase.objects.filter(status__in=[s.value for s in LIVE_STATUSES])
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {
        "outbox": pending.count(),
        # By id, the outbox's partial index: rows are written in time order.
        "outbox_oldest": pending.order_by("id").values_list("changed_at", flat=True).first(),
        "feed": due.count(),
        "feed_oldest": due.order_by("due_at").values_list("due_at", flat=True).first(),
        "dead_letters": DeadLetter.objects.filter(resolved_at__isnull=True).count(),
        "cases": cases,
    }


def read_backlog(now: datetime) -> dict:
    """The figures, under a statement timeout on PostgreSQL; raises DatabaseError."""
    with transaction.atomic():
        if connection.vendor != "postgresql":
            return _read(now)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            before = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(TIMEOUT_MS)])
        figures = _read(now)
        with connection.cursor() as cursor:
            # A request already inside a transaction (a test's) keeps its own timeout.
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
        return figures


class BacklogCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        up = GaugeMetricFamily(
            "c2c_backlog_up", "1 if the backlog gauges could be read from the database."
        )
        try:
            figures = read_backlog(now)
        except DatabaseError as exc:
            log.warning("backlog gauges not read: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "c2c_outbox_pending",
            "Status changes in the ledger's outbox no consumer has claimed yet.",
            value=figures["outbox"],
        )
        yield GaugeMetricFamily(
            "c2c_outbox_oldest_age_seconds",
            "Age of the oldest unclaimed status change (0 when none).",
            value=_age(figures["outbox_oldest"], now),
        )
        yield GaugeMetricFamily(
            "c2c_feed_pending",
            "Change-feed entries due for the metrics engine now.",
            value=figures["feed"],
        )
        yield GaugeMetricFamily(
            "c2c_feed_oldest_age_seconds",
            "How long the earliest due change-feed entry has been due (0 when none).",
            value=_age(figures["feed_oldest"], now),
        )
        yield GaugeMetricFamily(
            "c2c_dead_letters_waiting",
            "Dead letters not yet resolved (placed or dismissed).",
            value=figures["dead_letters"],
        )
        cases = GaugeMetricFamily(
            "c2c_cases_open",
            "Exception cases not resolved, by status (open, acknowledged, snoozed, ignored).",
            labels=["status"],
        )
        for status in LIVE_STATUSES:
            cases.add_metric([status.value], figures["cases"].get(status.value, 0))
        yield cases
