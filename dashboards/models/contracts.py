"""Contracts as chains across systems: the figures of each, its breaks, and what keeps them
current (the contract feed, each transaction's membership, the breaks' outbox).

Written only by ``dashboards.reconciliation``; docs/reconciliation.md says what each figure
and break means.
"""

from django.db import models

from tracking.models import Transaction
from tracking.models.transactions import MONEY

from .facts import TOTAL


class BreakKind(models.TextChoices):
    VERSION_MISMATCH = "version_mismatch", "Systems hold different versions"
    AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ between stages"
    UNBILLED = "unbilled", "Approved work not invoiced"
    OVER_BILLED = "over_billed", "Invoiced beyond the contract"
    DUPLICATE_INVOICE = "duplicate_invoice", "Invoice duplicated"


FIGURES = ("contracted", "approved", "invoiced", "posted", "paid")


class Contract(models.Model):
    """One contract's chain as it stands: versions per system, money per stage, open breaks."""

    key = models.CharField(max_length=200, unique=True, help_text="The business key.")
    customer = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    legal_entity = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # {system: the latest version it reported}
    versions = models.JSONField(default=dict)
    contracted = models.DecimalField(null=True, blank=True, **TOTAL)
    approved = models.DecimalField(null=True, blank=True, **TOTAL)
    invoiced = models.DecimalField(null=True, blank=True, **TOTAL)
    posted = models.DecimalField(null=True, blank=True, **TOTAL)
    paid = models.DecimalField(null=True, blank=True, **TOTAL)
    # The same five in the reporting currency: {figure: "123.45" or null when unpriced}.
    reporting = models.JSONField(default=dict)
    transactions = models.PositiveIntegerField(default=0)
    open_breaks = models.PositiveIntegerField(default=0)
    # The open breaks' sum in the reporting currency: what the list ranks and filters by.
    break_amount = models.DecimalField(default=0, **TOTAL)
    reconciled_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["customer"], name="contract_customer"),
            # The list: largest open breaks first, paged by (break_amount, id).
            models.Index(fields=["-break_amount", "-id"], name="contract_break_amount"),
        ]

    def __str__(self) -> str:
        return self.key


class ContractBreak(models.Model):
    """A reconciliation finding on a contract, open until a later report settles it; cleared
    ones stay as its history."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="breaks")
    key = models.CharField(max_length=300, help_text="The same break found again is this one.")
    kind = models.CharField(max_length=20, choices=BreakKind.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, blank=True)
    # In the reporting currency; None when there is no FX rate.
    amount_reporting = models.DecimalField(null=True, blank=True, **MONEY)
    # What the breaks list ranks by: the reporting amount, 0 when unpriced (last, not first).
    rank_amount = models.DecimalField(default=0, **MONEY)
    correlation_id = models.CharField(max_length=200, blank=True)
    transaction = models.ForeignKey(
        Transaction, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    stage = models.CharField(max_length=100, blank=True, help_text="Where a case is opened.")
    detail = models.TextField()
    since = models.DateTimeField()
    found_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "key"],
                condition=models.Q(cleared_at__isnull=True),
                name="one_open_break_per_key",
            ),
        ]
        indexes = [
            # The breaks list: open ones, largest first.
            models.Index(
                fields=["-rank_amount", "-id"],
                name="break_open_amount",
                condition=models.Q(cleared_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind} {self.amount} {self.currency}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class ContractMember(models.Model):
    """The contract a transaction was last reconciled under: when its contract field moves
    (a correction), the contract it left is reconciled again too."""

    transaction = models.OneToOneField(
        Transaction, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    contract = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.transaction_id} in {self.contract}"


class ChangedContract(models.Model):
    """The contract feed: contracts due to be reconciled again (a transaction of theirs
    changed, or a grace period or deadline passes)."""

    contract = models.CharField(max_length=200, primary_key=True)
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.contract} due {self.due_at:%Y-%m-%d %H:%M}"


class BreakChange(models.Model):
    """The breaks' outbox: a break opened, changed or cleared, for the exception queue to
    open, update or resolve its case. Written with the break, claimed once."""

    OPENED, CHANGED, CLEARED = "opened", "changed", "cleared"

    brk = models.ForeignKey(ContractBreak, on_delete=models.CASCADE, related_name="+")
    change = models.CharField(max_length=8)
    at = models.DateTimeField()
    processed = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"],
                name="breakchange_unprocessed",
                condition=models.Q(processed__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"break {self.brk_id} {self.change}"
