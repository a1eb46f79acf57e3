"""The audit log now belongs to the audit app (its migration 0001 takes the same table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("c2c_exceptions", "0006_break_cases"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
