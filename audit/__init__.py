"""The audit log: every change a person, a key, a rule or a command makes, append-only.

The bottom of the stack (``audit`` <- ``tracking`` <- ``dashboards`` <- ``exceptions``), so
each app records its own changes: ``audit.log.record``.
"""
