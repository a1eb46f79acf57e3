"""The audit log's one table."""

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One change a person, key, rule or command made: who, when, on what, before, after.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger refuses
    them too, so not even a bug or a shell session can rewrite history. What it is about is
    referenced by value (type and id, case, correlation ID), so the history outlives it.
    The table keeps the name it had in the exceptions app, where the log began.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(
        max_length=150, help_text="username, flow:<slug>, rule:<id>, os:<user>, system"
    )
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    case_id = models.BigIntegerField(null=True, blank=True)
    correlation_id = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        db_table = "c2c_exceptions_auditentry"
        ordering = ["at", "id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["case_id", "at"], name="audit_case"),
            models.Index(fields=["correlation_id", "at"], name="audit_txn"),
            # The audit page's filters: by who, and by what (a kind, or one object).
            models.Index(fields=["actor_name", "at"], name="audit_actor"),
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")
