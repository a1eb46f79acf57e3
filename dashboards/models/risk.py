import secrets

from django.db import models

from .facts import TOTAL, Dimensions


class RiskReason(models.TextChoices):
    FAILED = "failed", "Failed"
    STUCK = "stuck", "Stuck"
    OVERDUE = "overdue", "Past an SLA deadline"
    LEAKAGE = "leakage", "Approved, never invoiced"
    SOON = "soon", "Due within a day"


class RiskAge(models.TextChoices):
    UNDER_1D = "lt_1d", "< 1 day"
    D1_3 = "1d_3d", "1-3 days"
    D3_7 = "3d_7d", "3-7 days"
    OVER_7D = "gt_7d", "> 7 days"


class RiskSnapshot(Dimensions):
    """Revenue at risk as it stood at ``taken_at``: one row per dimensions x reason x age.

    Taken every minute; the latest is the current figure, older ones are thinned to one an
    hour and make the "revenue at risk over time" series.
    """

    taken_at = models.DateTimeField()
    hourly = models.BooleanField(default=False, help_text="Kept for the long history.")
    reason = models.CharField(max_length=8, choices=RiskReason.choices)
    age = models.CharField(max_length=6, choices=RiskAge.choices)
    count = models.IntegerField()
    amount = models.DecimalField(**TOTAL)

    class Meta:
        indexes = [models.Index(fields=["taken_at"], name="risksnapshot_taken")]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M} {self.reason} {self.amount}"


def random_token() -> int:
    return secrets.randbits(62)


class RiskSnapshotTaken(models.Model):
    """When each snapshot kept in ``RiskSnapshot`` was taken: one row per snapshot.

    The risk series picks its moments (the last snapshot of each interval) from these few
    rows instead of reading every row of every snapshot in the window.
    """

    taken_at = models.DateTimeField(unique=True)
    hourly = models.BooleanField(default=False)
    # Names this snapshot's cached sums (``summary._snapshot_sums``): random, so a
    # recreated database never meets the sums of another one's snapshot.
    token = models.BigIntegerField(default=random_token)

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M}"
