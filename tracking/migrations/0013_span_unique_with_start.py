"""The span's unique key includes its start time (the partition key on PostgreSQL).

On PostgreSQL 0012 made the constraint already, with the partitioned table: this only
brings Django's state along. SQLite, which keeps a plain table, rebuilds it with the new
constraint.
"""

from django.db import migrations, models


class _SQLiteOnly:
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveConstraintUnlessPartitioned(_SQLiteOnly, migrations.RemoveConstraint):
    pass


class AddConstraintUnlessPartitioned(_SQLiteOnly, migrations.AddConstraint):
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0012_span_partitions"),
    ]

    operations = [
        RemoveConstraintUnlessPartitioned(model_name="span", name="span_unique_id"),
        AddConstraintUnlessPartitioned(
            model_name="span",
            constraint=models.UniqueConstraint(
                fields=("trace_id", "span_id", "start_time"), name="span_unique_id"
            ),
        ),
    ]
