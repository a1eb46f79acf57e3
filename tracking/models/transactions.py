from django.db import models

from .flows import Flow
from .journeys import Journey, Stage

MONEY = {"max_digits": 18, "decimal_places": 2}


class TransactionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    STUCK = "stuck", "Stuck"


class EventStatus(models.TextChoices):
    STARTED = "started", "Started"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Transaction(models.Model):
    """One business object's trip through a journey, keyed by its correlation ID.

    A projection of its events, written only by ``tracking.ledger``: the state is a merge
    of the events that is independent of their arrival order, so late, duplicated and
    out-of-order reports leave the same row (see docs/ledger.md).
    """

    # Unique through Meta.constraints, not unique=True: on PostgreSQL the field option adds a
    # second, varchar_pattern_ops index for LIKE 'prefix%' that no query here makes (search is
    # case-blind), and every index is paid for on each write of a row.
    correlation_id = models.CharField(max_length=200)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+", db_index=False)
    current_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    stage_status = models.CharField(max_length=12, choices=EventStatus.choices, blank=True)
    stage_event_at = models.DateTimeField(null=True, blank=True)
    stage_event_id = models.CharField(max_length=200, blank=True)
    flow = models.ForeignKey(Flow, on_delete=models.SET_NULL, null=True, blank=True, db_index=False)
    customer = models.CharField(max_length=200, blank=True)
    contract = models.CharField(max_length=200, blank=True)
    project = models.CharField(max_length=200, blank=True)
    invoice = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    legal_entity = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    next_deadline_at = models.DateTimeField(null=True, blank=True)
    # First success time of each stage: {stage slug: RFC 3339}. SLA clocks read it.
    stage_times = models.JSONField(default=dict)
    # Last-writer-wins register per descriptive field: {field: [occurred_at, event_id, value]}.
    facts = models.JSONField(default=dict)
    # Each stage's amount, kept apart so a later stage's report does not overwrite an earlier
    # one's (approved 10,000, invoiced 9,000): {stage slug: [occurred_at, event_id, amount,
    # currency]}, last writer wins among the stage's succeeded reports that carry an amount.
    stage_amounts = models.JSONField(default=dict)
    event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["correlation_id"], name="txn_correlation_id"),
        ]
        # Each index costs every write of a row: the projection's per event, the sweep's per
        # newly stuck transaction (an update that changes an indexed column rewrites an entry
        # in every index). Keep only those a page or a worker reads.
        indexes = [
            models.Index(fields=["-last_event_at"], name="txn_last_event"),
            # The transactions explorer's other sorts, paged by (value, id) from an index.
            models.Index(fields=["amount", "id"], name="txn_amount"),
            models.Index(fields=["started_at", "id"], name="txn_started"),
            models.Index(fields=["next_deadline_at", "id"], name="txn_deadline"),
            # A contract's chain: its transactions of every journey (reconciliation).
            models.Index(
                fields=["contract"], name="txn_contract", condition=~models.Q(contract="")
            ),
        ]

    def __str__(self) -> str:
        return self.correlation_id

    # The status lives on TransactionState; list pages select_related("state").
    @property
    def status(self) -> str:
        return self.state.status

    def get_status_display(self) -> str:
        return self.state.get_status_display()


class TransactionState(models.Model):
    """A transaction's status, beside the wide ledger row it belongs to.

    The stuck sweep changes only this: marking 10,000 transactions stuck rewrites 10,000
    rows of five narrow columns and their three index entries each, where on the ledger
    row it rewrote a kilobyte of stage times and facts and seven index entries. The
    ledger writes both rows in one database transaction; ``version`` guards that write
    against a sweep or another batch that changed the transaction meanwhile.
    ``last_event_at`` and ``next_deadline_at`` repeat the ledger row's, as keys of the
    indexes that read by status.
    """

    transaction = models.OneToOneField(
        Transaction, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    status = models.CharField(
        max_length=12, choices=TransactionStatus.choices, default=TransactionStatus.IN_PROGRESS
    )
    version = models.PositiveIntegerField(default=1)
    last_event_at = models.DateTimeField()
    next_deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The explorer filtered by status (stuck, failed: old news by nature), newest
            # first; and any read of one status (the risk snapshot's failed and stuck).
            models.Index(fields=["status", "-last_event_at"], name="txn_status_recent"),
            # The stuck sweep and "at risk soon" look only at transactions still moving:
            # stuck ones stay off this index, so each sweep reads only the newly late.
            models.Index(
                fields=["next_deadline_at"],
                name="txn_moving_deadline",
                condition=models.Q(status="in_progress"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.status}"


class Event(models.Model):
    """One status report of a flow about one stage of one transaction. Immutable."""

    # Unique per flow (Meta.constraints): each flow makes its own ids, and one flow's ids
    # neither collide with nor reveal another's.
    event_id = models.CharField(max_length=200)
    # Single-column FK indexes are left out where a composite index covers the look-ups:
    # every index is paid for on each ingested row.
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+", db_index=False)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=12, choices=EventStatus.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    flow = models.ForeignKey(Flow, on_delete=models.SET_NULL, null=True, blank=True, db_index=False)
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, default="api")  # "api" or "span"
    # The system whose state this report speaks for (clm, billing, erp...), and the version
    # of the contract's terms it holds after it; blank when not said (system: the flow's
    # target system by default).
    system = models.CharField(max_length=50, blank=True)
    contract_version = models.CharField(max_length=50, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    span_id = models.CharField(max_length=16, blank=True)
    # Fingerprint of the normalised content: a resend with the same event_id is a
    # duplicate when it matches, an error when it does not.
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "event_id"], name="event_flow_event_id"),
        ]
        indexes = [
            models.Index(fields=["transaction", "occurred_at"], name="event_txn_time"),
            # A flow's recent failures (the flow page): failed reports only, so the cost on
            # ingest is paid for the few rows that are failures.
            models.Index(
                fields=["flow", "occurred_at"],
                name="event_flow_failures",
                condition=models.Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return self.event_id
