"""Event ids are unique per flow, not across flows (events and waiting dead letters).

Before, flow B's event was refused because flow A had used its id, and the refusal told B
that A's id existed. On PostgreSQL the new unique index is built while writes to
tracking_event wait (a SHARE lock): stop ingest for the upgrade (docs/ledger.md).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0008_outbox_without_constraints"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="deadletter",
            name="deadletter_unresolved_event",
        ),
        migrations.AlterField(
            model_name="event",
            name="event_id",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="deadletter",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resolved_at__isnull", True)),
                fields=("flow", "event_id"),
                name="deadletter_unresolved_event",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("flow", "event_id"), name="event_flow_event_id"
            ),
        ),
    ]
