"""Funnel stage facts (``stage:<stage id>:<status>``) are new: work out every transaction's
facts again. The rollup worker takes them off the change feed in chunks, in the background;
``manage.py rebuild_rollups`` does it at once instead."""

from django.db import migrations
from django.utils import timezone


def enqueue_every_transaction(apps, schema_editor) -> None:
    feed = apps.get_model("tracking", "ChangedTransaction")._meta.db_table
    ledger = apps.get_model("tracking", "Transaction")._meta.db_table
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {feed} (transaction_id, due_at) "  # noqa: S608
            f"SELECT id, %s FROM {ledger} WHERE true "
            "ON CONFLICT (transaction_id) DO UPDATE SET due_at = excluded.due_at",
            # SQLite compares stored text: the value must be in the ORM's own format.
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0004_saved_views"),
        ("tracking", "0005_explorer_sort_indexes"),
    ]

    operations = [migrations.RunPython(enqueue_every_transaction, migrations.RunPython.noop)]
