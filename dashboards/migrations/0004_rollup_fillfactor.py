"""Leave room on rollup pages, so a refresh updates rows in place (HOT updates).

Rows stay where the rebuild wrote them, in bucket order, and a window's rows stay on few
pages. PostgreSQL only; SQLite has no such setting.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int = 70) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE dashboards_rollup SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE dashboards_rollup RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0003_rollup_key")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
