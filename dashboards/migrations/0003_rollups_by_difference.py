"""Rollups that refreshes add to, the reads' covering index, and the metrics version.

- One rollup row per key (``rollup_key``), which a refresh adds differences to; its
  amount is 0, not NULL, when no fact carries money.
- Room left on rollup pages (PostgreSQL ``fillfactor``), so those additions update rows
  in place (HOT) and rows stay where the rebuild wrote them, in bucket order.
- Day rows read from a covering index alone (``rollup_days``; a plain index on SQLite).
- ``MetricsVersion``: the counter cached summaries are keyed by.
"""

from django.db import migrations, models

DIMENSIONS = ("journey", "flow", "region", "business_unit", "legal_entity")


def set_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE dashboards_rollup SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE dashboards_rollup RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0002_seed_policies")]

    operations = [
        migrations.RemoveIndex(model_name="rollup", name="rollup_grain_bucket"),
        migrations.AlterField(
            model_name="rollup",
            name="amount",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=20),
        ),
        migrations.AddConstraint(
            model_name="rollup",
            constraint=models.UniqueConstraint(
                fields=("grain", "bucket", "measure", *DIMENSIONS), name="rollup_key"
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
        migrations.AddIndex(
            model_name="rollup",
            index=models.Index(
                condition=models.Q(("grain", 86400)),
                fields=["bucket"],
                include=("measure", *DIMENSIONS, "count", "amount"),
                name="rollup_days",
            ),
        ),
        migrations.CreateModel(
            name="MetricsVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField()),
            ],
        ),
    ]
