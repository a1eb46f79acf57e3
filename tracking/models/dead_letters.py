from django.db import models

from .flows import Flow


class DeadLetter(models.Model):
    """An accepted report the ledger could not place yet (unknown journey or stage).

    Kept with its reason so nothing accepted is lost; re-processed from the admin or with
    ``manage.py reprocess_dead_letters`` once the journey exists.
    """

    event_id = models.CharField(max_length=200)
    correlation_id = models.CharField(max_length=200, blank=True)
    flow = models.ForeignKey(Flow, on_delete=models.SET_NULL, null=True, blank=True)
    source = models.CharField(max_length=8, default="api")
    payload = models.JSONField()
    content_hash = models.CharField(max_length=64)
    reason = models.TextField()
    received_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(db_default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # One waiting letter per flow's event_id: resends of an unplaced event are
            # duplicates.
            models.UniqueConstraint(
                fields=["flow", "event_id"],
                name="deadletter_unresolved_event",
                condition=models.Q(resolved_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.reason}"
