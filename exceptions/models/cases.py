from django.conf import settings
from django.db import models

from dashboards.models import BreakKind, ContractBreak
from tracking.models import Flow, Journey, Stage, Transaction
from tracking.models.transactions import MONEY


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


class CaseKind(models.TextChoices):
    FAILED = "failed", "Failed"
    STUCK = "stuck", "Stuck"
    # Reconciliation breaks (dashboards.models.BreakKind), one kind each.
    VERSION_MISMATCH = BreakKind.VERSION_MISMATCH.value, BreakKind.VERSION_MISMATCH.label
    AMOUNT_MISMATCH = BreakKind.AMOUNT_MISMATCH.value, BreakKind.AMOUNT_MISMATCH.label
    UNBILLED = BreakKind.UNBILLED.value, BreakKind.UNBILLED.label
    OVER_BILLED = BreakKind.OVER_BILLED.value, BreakKind.OVER_BILLED.label
    DUPLICATE_INVOICE = BreakKind.DUPLICATE_INVOICE.value, BreakKind.DUPLICATE_INVOICE.label


# The kinds the ledger's outbox opens; the others are opened by reconciliation breaks.
LEDGER_KINDS = (CaseKind.FAILED, CaseKind.STUCK)


# A case in one of these is the one case of its transaction + stage: a repeat of the
# failure bumps it. An ignored case stays live so that repeats do not open new ones; only
# resolving (by hand, or by the stage succeeding) frees the slot.
LIVE_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.SNOOZED,
    CaseStatus.IGNORED,
)
# The statuses ops work from; the queue shows these by default.
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)


class ExceptionCase(models.Model):
    """A failed or stuck stage of one transaction, or a reconciliation break found on it,
    with the person or team who owns it."""

    audit_type = "case"  # as the audit log has always named it

    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="exception_cases", db_index=False
    )
    correlation_id = models.CharField(max_length=200)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    flow = models.ForeignKey(
        Flow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    # A break's case: the break, and its key within the contract (blank for failed and
    # stuck stages), so one stage may have its failure's case and its breaks' at once.
    contract_break = models.ForeignKey(
        ContractBreak,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    break_key = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    # The event a replay re-runs: the failure, or for a stuck stage the last report before it.
    event_id = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    # In the reporting currency; None when the transaction has no amount or no FX rate.
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    original_amount = models.DecimalField(null=True, blank=True, **MONEY)
    original_currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exception_cases",
        db_index=False,
    )
    team = models.CharField(max_length=100, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.CharField(
        max_length=150, blank=True, help_text="Who resolved it; 'system' when the stage succeeded."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "stage", "break_key"],
                condition=models.Q(status__in=[s.value for s in LIVE_STATUSES]),
                name="one_live_case_per_stage",
            ),
        ]
        indexes = [
            # The queue reads live cases only; these stay small however many are resolved.
            models.Index(
                fields=["status", "team"],
                name="case_live_team",
                condition=models.Q(status__in=[s.value for s in LIVE_STATUSES]),
            ),
            models.Index(
                fields=["owner", "status"],
                name="case_live_owner",
                condition=models.Q(status__in=[s.value for s in LIVE_STATUSES]),
            ),
            # The queue ranks open and acknowledged cases by amount x age. These two let
            # PostgreSQL find the largest amounts and the oldest case without reading the
            # wide rows, which is how ``queue.page_ids`` narrows the ranking to the few cases
            # that can make the page (see there).
            models.Index(
                fields=["amount"],
                name="case_active_amount",
                include=["opened_at", "id", "owner", "flow"],
                condition=models.Q(status__in=[s.value for s in ACTIVE_STATUSES]),
            ),
            models.Index(
                fields=["opened_at"],
                name="case_active_age",
                condition=models.Q(status__in=[s.value for s in ACTIVE_STATUSES]),
            ),
            models.Index(fields=["correlation_id"], name="case_correlation"),
            models.Index(
                fields=["snoozed_until"],
                name="case_snoozed",
                condition=models.Q(status="snoozed"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.correlation_id} {self.stage_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def audit_case_id(self) -> int | None:
        # The audit log files an entry about a case under that case.
        return self.pk


class Note(models.Model):
    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note by {self.author_name} on #{self.case_id}"
