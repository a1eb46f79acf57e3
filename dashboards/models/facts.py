"""Pre-computed figures: per-transaction facts, their rollups, and open SLA clocks.

A **fact** is what one transaction contributes to one 5-minute bucket for one measure
(started, completed, an SLA met, a latency bin...). Facts are rebuilt per changed transaction;
a **rollup** row is the sum of the facts of one bucket x dimensions x measure, at three
grains (5 minutes, hour, day). A refresh appends the difference between a transaction's
new and old facts to the pending rollups, and a fold adds those to the rollups, so both
touch only the buckets whose facts changed.
"""

from django.db import models

from tracking.models import Transaction
from tracking.models.transactions import MONEY

from ..lookups import AnyOf

DIMENSIONS = ("journey", "flow", "region", "business_unit", "legal_entity")
COARSE_DIMENSIONS = DIMENSIONS[:3]
TOTAL = {"max_digits": 20, "decimal_places": 2}


class Dimensions(models.Model):
    journey = models.CharField(max_length=100)
    flow = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    legal_entity = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True


class Fact(Dimensions):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="+")
    bucket = models.DateTimeField()
    measure = models.CharField(max_length=64)
    count = models.IntegerField()
    amount = models.DecimalField(null=True, blank=True, **MONEY)

    class Meta:
        indexes = [models.Index(fields=["bucket"], name="fact_bucket")]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.measure} @ {self.bucket:%Y-%m-%d %H:%M}"


class Rollup(Dimensions):
    grain = models.PositiveIntegerField(help_text="Bucket length in seconds: 300, 3600, 86400.")
    bucket = models.DateTimeField()
    measure = models.CharField(max_length=64)
    count = models.BigIntegerField()
    # Zero, not NULL, when no fact carries money: refreshes add differences to it.
    amount = models.DecimalField(default=0, **TOTAL)

    class Meta:
        constraints = [
            # One row per key, which refreshes add to; its leading columns serve the reads.
            models.UniqueConstraint(
                fields=["grain", "bucket", "measure", *DIMENSIONS], name="rollup_key"
            )
        ]
        indexes = [
            # Readers name the measures they want (one policy's latency bins, the funnel's
            # stages...), and most rows are of measures a given figure does not read.
            # Day rows make up most of a long window: read them from this index alone.
            models.Index(
                fields=["measure", "bucket"],
                include=[*DIMENSIONS, "count", "amount"],
                condition=models.Q(grain=86400),
                name="rollup_days",
            ),
            # Hour rows (a week's series) the same way. Covering costs refreshes nothing
            # more: ``rollup_days`` already holds count and amount, and PostgreSQL updates a
            # row in place (HOT) only when no index holds a changed column, partial or not.
            models.Index(
                fields=["measure", "bucket"],
                include=[*DIMENSIONS, "count", "amount"],
                condition=models.Q(grain=3600),
                name="rollup_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grain}s {self.bucket:%Y-%m-%d %H:%M} {self.measure} {self.count}"


class CoarseRollup(models.Model):
    """Hour and day rollups without business unit and legal entity.

    Most views ask for every dimension, or for a journey, flow or region: summed from
    ``Rollup`` they read a row per business unit x legal entity present (up to 12 at the
    bench's size) where one here says the same. Refreshes add the same differences to both tables.
    """

    grain = models.PositiveIntegerField(help_text="Bucket length in seconds: 3600 or 86400.")
    bucket = models.DateTimeField()
    measure = models.CharField(max_length=64)
    journey = models.CharField(max_length=100)
    flow = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    count = models.BigIntegerField()
    amount = models.DecimalField(default=0, **TOTAL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "bucket", "measure", *COARSE_DIMENSIONS],
                name="coarserollup_key",
            )
        ]
        indexes = [
            # Readers name their measures, as on ``Rollup``; rows come from the index alone.
            models.Index(
                fields=["grain", "measure", "bucket"],
                include=[*COARSE_DIMENSIONS, "count", "amount"],
                name="coarserollup_read",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grain}s {self.bucket:%Y-%m-%d %H:%M} {self.measure} {self.count}"


class PendingRollup(Dimensions):
    """A refresh's differences to the rollups, by 5-minute bucket, not yet added to them.

    A refresh writes these (appended, no look-ups) and commits: readers add them to the
    rollup rows they read, so new figures show at once. ``rollups.fold_pending`` then adds
    them to the rollups at every grain and deletes them, each batch in one database
    transaction; readers take one snapshot of both tables, so a figure never counts a
    difference twice or not at all.
    Adding to rollups all over the history is most of a refresh's cost when events land on
    old transactions (their facts sit in the buckets where they started).
    """

    bucket = models.DateTimeField()
    measure = models.CharField(max_length=64)
    count = models.BigIntegerField()
    amount = models.DecimalField(default=0, **TOTAL)

    class Meta:
        indexes = [models.Index(fields=["measure", "bucket"], name="pendingrollup_read")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H:%M} {self.measure} {self.count:+d}"


class RiskClock(Dimensions):
    """The earliest SLA deadline still open for an in-progress transaction.

    Written with the facts; revenue at risk reads it for "overdue" (a deadline passed),
    "leakage" (a month-close deadline passed) and "at risk soon" (due within a day).
    """

    transaction = models.OneToOneField(
        Transaction, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    deadline = models.DateTimeField(null=True, blank=True)
    close_deadline = models.DateTimeField(null=True, blank=True)
    amount = models.DecimalField(null=True, blank=True, **MONEY)

    class Meta:
        indexes = [
            models.Index(fields=["deadline"], name="riskclock_deadline"),
            models.Index(fields=["close_deadline"], name="riskclock_close"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} due {self.deadline}"


class MetricsVersion(models.Model):
    """One counter that moves, in the same database transaction, whenever a figure changes.

    Refreshes that change rollups, rebuilds, risk snapshots and policy edits move it;
    readers cache what they computed under its value (``dashboards.freshness``). It starts
    at a random value, so a recreated database never meets an old cache entry.
    """

    version = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.version)


for _model in (Rollup, CoarseRollup, PendingRollup):
    _model._meta.get_field("measure").register_lookup(AnyOf)
