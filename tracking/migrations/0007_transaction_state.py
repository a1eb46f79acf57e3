"""The status moves off the wide ledger row to a narrow one (see TransactionState).

On PostgreSQL the copy writes one narrow row per transaction before the status indexes
are built on the narrow table (17 s per million transactions on the bench machine); the
ledger takes no writes from the copy on (a transaction written meanwhile would have no
state row) and no reads from the index drops on, until the migration commits. Dropping
the two columns rewrites nothing. Going back, the statuses are copied back before the
ledger's status indexes are built again.
"""

import django.db.models.deletion
from django.db import migrations, models

COPY = (
    "INSERT INTO tracking_transactionstate "
    "(transaction_id, status, version, last_event_at, next_deadline_at) "
    "SELECT id, status, version, last_event_at, next_deadline_at FROM tracking_transaction"
)
COPY_BACK = (
    "UPDATE tracking_transaction SET status = s.status, version = s.version "
    "FROM tracking_transactionstate s WHERE s.transaction_id = tracking_transaction.id"
)


def copy(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("LOCK TABLE tracking_transaction IN SHARE MODE")
    schema_editor.execute(COPY)


def analyze(apps, schema_editor):
    # The planner needs the new table's statistics before autovacuum gets to it.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE tracking_transactionstate")


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0006_transaction_fewer_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="TransactionState",
            fields=[
                (
                    "transaction",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="state",
                        serialize=False,
                        to="tracking.transaction",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("in_progress", "In progress"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                            ("stuck", "Stuck"),
                        ],
                        default="in_progress",
                        max_length=12,
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1)),
                ("last_event_at", models.DateTimeField()),
                ("next_deadline_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(copy, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="transaction",
            name="txn_moving_deadline",
        ),
        migrations.RemoveIndex(
            model_name="transaction",
            name="txn_status_recent",
        ),
        migrations.RunSQL(migrations.RunSQL.noop, COPY_BACK),
        migrations.RemoveField(
            model_name="transaction",
            name="status",
        ),
        migrations.RemoveField(
            model_name="transaction",
            name="version",
        ),
        migrations.AddIndex(
            model_name="transactionstate",
            index=models.Index(fields=["status", "-last_event_at"], name="txn_status_recent"),
        ),
        migrations.AddIndex(
            model_name="transactionstate",
            index=models.Index(
                condition=models.Q(("status", "in_progress")),
                fields=["next_deadline_at"],
                name="txn_moving_deadline",
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
