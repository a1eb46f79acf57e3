"""The two kinds of admin page of the exception queue: configuration, audited on every
change (``audit.admin.AuditedAdmin``), and records people change through the queue, shown
read-only."""

from audit.admin import AuditedAdmin, ReadOnlyAdmin

__all__ = ["AuditedAdmin", "ReadOnlyAdmin"]
