"""Rows every installation starts with (used by a data migration, and by the test suite to
put them back after a transactional test empties the tables)."""

DEFAULT_RULE = "New exception: tell the owning team"


def seed_alert_rules(AlertRule) -> None:
    AlertRule.objects.get_or_create(
        name=DEFAULT_RULE, defaults={"kind": "new_exception", "enabled": True}
    )
