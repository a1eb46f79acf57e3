"""The exception queue's admin pages (Django imports this module to register them)."""

from . import alerts, cases  # noqa: F401 - each registers its models
