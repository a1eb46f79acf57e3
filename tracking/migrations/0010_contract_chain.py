"""The contract chain: each event's system and contract version, each transaction's amount
per stage (filled from the events recorded so far), and an index by contract.

On PostgreSQL the amounts are filled by one UPDATE from the succeeded events with an amount
(the latest of each stage); the new columns take no table rewrite. SQLite (the demo) does
the same in Python.
"""

from django.db import migrations, models

# The latest succeeded report with an amount, per transaction and stage, as the projection
# keeps it: [occurred_at as tracking.timefmt.iso writes it, event_id, amount, currency].
FILL_POSTGRESQL = """
UPDATE tracking_transaction t SET stage_amounts = filled.amounts
FROM (
    SELECT e.transaction_id, jsonb_object_agg(s.slug, jsonb_build_array(
        to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.event_id, e.amount::text, e.currency)) AS amounts
    FROM (
        SELECT DISTINCT ON (transaction_id, stage_id)
            transaction_id, stage_id, occurred_at, event_id, amount, currency
        FROM tracking_event WHERE status = 'succeeded' AND amount IS NOT NULL
        ORDER BY transaction_id, stage_id, occurred_at DESC, event_id DESC
    ) e JOIN tracking_stage s ON s.id = e.stage_id
    GROUP BY e.transaction_id
) filled
WHERE t.id = filled.transaction_id
"""


def fill_stage_amounts(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL_POSTGRESQL)
        return
    from tracking.timefmt import iso

    Event = apps.get_model("tracking", "Event")
    Transaction = apps.get_model("tracking", "Transaction")
    amounts: dict[int, dict] = {}
    rows = (
        Event.objects.filter(status="succeeded", amount__isnull=False)
        .order_by("transaction_id", "occurred_at", "event_id")
        .values_list(
            "transaction_id", "stage__slug", "occurred_at", "event_id", "amount", "currency"
        )
    )
    for txn_id, slug, occurred_at, event_id, amount, currency in rows.iterator():
        amounts.setdefault(txn_id, {})[slug] = [iso(occurred_at), event_id, str(amount), currency]
    for txn_id, held in amounts.items():
        Transaction.objects.filter(id=txn_id).update(stage_amounts=held)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0009_event_ids_per_flow"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="contract_version",
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.AddField(
            model_name="event",
            name="system",
            field=models.CharField(blank=True, max_length=50),
        ),
        migrations.AddField(
            model_name="transaction",
            name="stage_amounts",
            field=models.JSONField(default=dict),
        ),
        migrations.AddIndex(
            model_name="transaction",
            index=models.Index(
                condition=models.Q(("contract", ""), _negated=True),
                fields=["contract"],
                name="txn_contract",
            ),
        ),
        migrations.RunPython(fill_stage_amounts, migrations.RunPython.noop),
    ]
