"""What the ledger tells the rest of the app: status changes (an outbox) and a change feed.

Both are written in the same database transaction as the change itself, so a consumer never
misses one and never sees one that did not happen. ``tracking`` imports no other app: these
tables are how exceptions and metrics learn about the ledger.
"""

from django.db import models

from .journeys import Journey, Stage
from .transactions import Transaction


class StatusChange(models.Model):
    """One change of a transaction's status, or one more failure of its current stage.

    An outbox in the healthchecks manner: consumers claim an unprocessed row atomically
    (``filter(id=.., processed=None).update(processed=now)``), so nothing is handled twice,
    and nothing is lost when a worker dies before claiming.
    """

    # No foreign-key constraints in the database (Django still cascades deletes): the
    # ledger and the sweep write these rows with ids read from the ledger in the same
    # database transaction, and the checks PostgreSQL ran at each commit, three per row,
    # were a third of a 10,000-row stuck sweep (docs/scaling.md).
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.CASCADE,
        related_name="status_changes",
        db_index=False,
        db_constraint=False,
    )
    correlation_id = models.CharField(max_length=200)
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    stage = models.ForeignKey(
        Stage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    from_status = models.CharField(max_length=12, blank=True, help_text="Empty when new.")
    to_status = models.CharField(max_length=12)
    cause = models.CharField(max_length=8, help_text="event (ingest) or sweep (stuck detection)")
    event_id = models.CharField(
        max_length=200, blank=True, help_text="The event that decided the new status."
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    changed_at = models.DateTimeField()
    processed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["transaction", "id"], name="statuschange_txn"),
            models.Index(
                fields=["id"],
                name="statuschange_unprocessed",
                condition=models.Q(processed__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.correlation_id}: {self.from_status or 'new'} -> {self.to_status}"


class ChangedTransaction(models.Model):
    """A transaction whose derived figures (metrics) must be worked out again from ``due_at``.

    Ingest and the sweep enter each transaction they change, due at once; a consumer that
    knows a figure will change with time alone (an SLA deadline passing) enters it again,
    due then. One row per transaction: the earliest due time wins.
    """

    # No foreign-key constraint in the database, as StatusChange.transaction.
    transaction = models.OneToOneField(
        Transaction,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    due_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="changedtxn_due")]

    def __str__(self) -> str:
        return f"{self.transaction_id} due {self.due_at:%Y-%m-%d %H:%M}"
