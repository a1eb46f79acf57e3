"""Reconcile the contracts due in the contract feed, chunk by chunk.

Each chunk is one database transaction: it claims its contracts, reads their chains,
reconciles them and writes the figures, the breaks and the breaks' outbox, and enters the
contracts again for the moment a break may appear without a report. A worker that dies
mid-chunk leaves the chunk's contracts in the feed. Reconciliations take turns (an advisory
lock): two workers never write the same contract's breaks at once.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tracking import journeys

from .. import freshness
from ..fx import Rates
from . import chains, feed, rules, terms
from .store import store

CHUNK = 500
LOCK_KEY = 0x0C2C_0002


@dataclass
class ReconcileResult:
    contracts: int = 0
    opened: int = 0
    changed: int = 0
    cleared: int = 0
    chunks: int = 0
    skipped: bool = False


def current_rules() -> terms.Rules:
    billing = journeys.by_slug(terms.BILLING)
    approved = billing.by_slug.get("work_approved") if billing else None
    return terms.Rules(
        version_grace=settings.RECON_VERSION_GRACE,
        tolerance=settings.RECON_TOLERANCE,
        unbilled_wait=approved.expected_duration if approved else None,
    )


def _take_turn() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite writers already take turns
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def reconcile_due(now: datetime | None = None, chunk: int = CHUNK) -> ReconcileResult:
    """Reconcile every contract due by ``now``; what it found."""
    now = now or timezone.now()
    result = ReconcileResult()
    context: tuple[terms.Rules, Rates] | None = None
    while True:
        with transaction.atomic():
            if not _take_turn():
                result.skipped = True
                return result
            keys = feed.claim(now, chunk)
            if not keys:
                return result
            context = context or (current_rules(), Rates.load())
            found = _reconcile_chunk(keys, *context, now)
        result.contracts += found.contracts
        result.opened += found.opened
        result.changed += found.changed
        result.cleared += found.cleared
        result.chunks += 1


def _reconcile_chunk(keys: list[str], chain_rules: terms.Rules, rates: Rates, now: datetime):
    read = chains.load(keys)
    results = [
        rules.reconcile(
            key,
            read.txns.get(key, []),
            read.reports.get(key, []),
            chain_rules,
            rates.exchange,
            settings.REPORTING_CURRENCY,
            now,
        )
        for key in keys
    ]
    stored = store(results, read, rates, now)
    feed.schedule([(r.contract, r.recheck_at) for r in results if r.recheck_at])
    # The summary's reconciliation figures change with the breaks.
    freshness.bump()
    return stored
