import uuid

from django.conf import settings
from django.db import models

from tracking.models import Flow, Stage, Transaction
from tracking.models.transactions import MONEY

from .cases import ExceptionCase


class ReplayStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Succeeded"


# Not finished yet: a second replay of the same stage is refused while one of these exists.
PENDING_REPLAYS = (ReplayStatus.REQUESTED, ReplayStatus.AWAITING_APPROVAL, ReplayStatus.SENT)


class Replay(models.Model):
    """A request to a flow to run one stage of one transaction again.

    The id is the ``replay_id`` and ``Idempotency-Key`` sent to the flow, so a resend after a
    crash is recognised by the receiver as the same request.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="replays")
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="replays", db_index=False
    )
    correlation_id = models.CharField(max_length=200)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="replays", null=True)
    replay_of_event_id = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    amount = models.DecimalField(null=True, blank=True, **MONEY)
    status = models.CharField(
        max_length=20, choices=ReplayStatus.choices, default=ReplayStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Sending: a worker owns the replay until claimed_until; a dead worker's claim lapses.
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result_event_id = models.CharField(
        max_length=200, blank=True, help_text="The report that settled it."
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "stage"],
                condition=models.Q(status__in=[s.value for s in PENDING_REPLAYS]),
                name="one_pending_replay_per_stage",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction", "requested_at"], name="replay_txn"),
            # The per-flow rate limit counts recent dispatches.
            models.Index(fields=["flow", "dispatched_at"], name="replay_flow_dispatch"),
            models.Index(
                fields=["status"],
                name="replay_pending",
                condition=models.Q(status__in=[s.value for s in PENDING_REPLAYS]),
            ),
        ]

    def __str__(self) -> str:
        return f"replay {self.id} of {self.correlation_id} ({self.status})"
