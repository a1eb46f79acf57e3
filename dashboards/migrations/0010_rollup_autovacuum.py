from django.db import migrations

# PostgreSQL's default vacuums a table once a fifth of its rows are dead: every few hours
# for rollups of ten million rows that refreshes update each minute. Until then the pages
# refreshes touched are not marked all-visible, and dashboards' index-only reads of them
# visit the table for each row (10,000 such visits in one 30-day summary on the bench).
TABLES = ("dashboards_rollup", "dashboards_coarserollup")
SETTINGS = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")


def vacuum_sooner(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    values = ", ".join(f"{name} = 0.01" for name in SETTINGS)
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET ({values})")


def vacuum_as_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0009_coarse_rollups"),
    ]

    operations = [migrations.RunPython(vacuum_sooner, vacuum_as_default)]
