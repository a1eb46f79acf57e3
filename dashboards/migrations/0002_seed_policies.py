"""Seed the default calendar and SLA policies (see dashboards/seeds.py)."""

from django.db import migrations

from dashboards.seeds import POLICIES, seed


def forwards(apps, schema_editor):
    seed(
        apps.get_model("dashboards", "BusinessCalendar"),
        apps.get_model("dashboards", "SlaPolicy"),
        apps.get_model("tracking", "Journey"),
        apps.get_model("tracking", "Stage"),
    )


def enqueue_existing(apps, schema_editor):
    """A ledger that predates the metrics gets them worked out by the next refresh."""
    from django.utils import timezone

    Transaction = apps.get_model("tracking", "Transaction")
    ChangedTransaction = apps.get_model("tracking", "ChangedTransaction")
    now = timezone.now()
    ids = Transaction.objects.values_list("id", flat=True).iterator(chunk_size=5000)
    batch = []
    for txn_id in ids:
        batch.append(ChangedTransaction(transaction_id=txn_id, due_at=now))
        if len(batch) == 5000:
            ChangedTransaction.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ChangedTransaction.objects.bulk_create(batch, ignore_conflicts=True)


def backwards(apps, schema_editor):
    apps.get_model("dashboards", "SlaPolicy").objects.filter(slug__in=POLICIES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_initial"),
        ("tracking", "0003_outbox_and_change_feed"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(enqueue_existing, migrations.RunPython.noop),
    ]
