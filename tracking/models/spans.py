from django.db import models

from .flows import Flow


class Span(models.Model):
    """One OpenTelemetry span, as received. Linked to a transaction by correlation ID."""

    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=500)
    kind = models.PositiveSmallIntegerField(default=0)
    service_name = models.CharField(max_length=200, blank=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(default=0)  # 0 unset, 1 ok, 2 error
    status_message = models.TextField(blank=True)
    flow = models.ForeignKey(Flow, on_delete=models.SET_NULL, null=True, blank=True, db_index=False)
    correlation_id = models.CharField(max_length=200, blank=True)
    journey = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        # On PostgreSQL the table is partitioned by start_time (migration 0012), and a unique
        # key there must hold the partition key. A resent span carries the same start (OTLP
        # exporters resend the same span), so de-duplication stays exact; one that claims
        # the ids of a stored span with another start is kept beside it (docs/scaling.md).
        # The primary key there is (id, start_time); ids still come from one sequence, so
        # Django's look-ups by id find one row.
        constraints = [
            models.UniqueConstraint(
                fields=["trace_id", "span_id", "start_time"], name="span_unique_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["correlation_id", "start_time"],
                name="span_correlation",
                condition=~models.Q(correlation_id=""),
            ),
            # Spans that arrived before any span of their trace named the transaction.
            models.Index(
                fields=["trace_id"], name="span_orphan", condition=models.Q(correlation_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id}"
