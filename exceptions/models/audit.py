from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One action a person, key or rule took: who, when, on what, before and after.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger refuses
    them too (migration 0002), so not even a bug or a shell session can rewrite history.
    Cases and transactions are referenced by value, so the history outlives them.
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
    actor_name = models.CharField(max_length=150, help_text="username, flow:<slug>, rule:<id>")
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    case_id = models.BigIntegerField(null=True, blank=True)
    correlation_id = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["case_id", "at"], name="audit_case"),
            models.Index(fields=["correlation_id", "at"], name="audit_txn"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")
