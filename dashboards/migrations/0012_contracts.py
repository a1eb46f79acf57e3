"""Contracts as chains: figures per contract, reconciliation breaks (cleared ones kept), the
contract feed, each transaction's contract membership, and the breaks' outbox."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0011_pending_rollups"),
        ("tracking", "0010_contract_chain"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangedContract",
            fields=[
                ("contract", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("due_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name="ContractMember",
            fields=[
                (
                    "transaction",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tracking.transaction",
                    ),
                ),
                ("contract", models.CharField(max_length=200)),
            ],
        ),
        migrations.CreateModel(
            name="Contract",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(help_text="The business key.", max_length=200, unique=True),
                ),
                ("customer", models.CharField(blank=True, max_length=200)),
                ("region", models.CharField(blank=True, max_length=100)),
                ("business_unit", models.CharField(blank=True, max_length=100)),
                ("legal_entity", models.CharField(blank=True, max_length=100)),
                ("currency", models.CharField(blank=True, max_length=3)),
                ("versions", models.JSONField(default=dict)),
                (
                    "contracted",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
                ),
                (
                    "approved",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
                ),
                (
                    "invoiced",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
                ),
                (
                    "posted",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
                ),
                (
                    "paid",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=20, null=True),
                ),
                ("reporting", models.JSONField(default=dict)),
                ("transactions", models.PositiveIntegerField(default=0)),
                ("open_breaks", models.PositiveIntegerField(default=0)),
                ("break_amount", models.DecimalField(decimal_places=2, default=0, max_digits=20)),
                ("reconciled_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["customer"], name="contract_customer"),
                    models.Index(fields=["-break_amount", "-id"], name="contract_break_amount"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ContractBreak",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="The same break found again is this one.", max_length=300
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("version_mismatch", "Systems hold different versions"),
                            ("amount_mismatch", "Amounts differ between stages"),
                            ("unbilled", "Approved work not invoiced"),
                            ("over_billed", "Invoiced beyond the contract"),
                            ("duplicate_invoice", "Invoice duplicated"),
                        ],
                        max_length=20,
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=18)),
                ("currency", models.CharField(blank=True, max_length=3)),
                (
                    "amount_reporting",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True),
                ),
                ("rank_amount", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                ("correlation_id", models.CharField(blank=True, max_length=200)),
                (
                    "stage",
                    models.CharField(
                        blank=True, help_text="Where a case is opened.", max_length=100
                    ),
                ),
                ("detail", models.TextField()),
                ("since", models.DateTimeField()),
                ("found_at", models.DateTimeField()),
                ("cleared_at", models.DateTimeField(blank=True, null=True)),
                (
                    "contract",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="breaks",
                        to="dashboards.contract",
                    ),
                ),
                (
                    "transaction",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="tracking.transaction",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="BreakChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("change", models.CharField(max_length=8)),
                ("at", models.DateTimeField()),
                ("processed", models.DateTimeField(blank=True, null=True)),
                (
                    "brk",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="dashboards.contractbreak",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="contractbreak",
            index=models.Index(
                condition=models.Q(("cleared_at__isnull", True)),
                fields=["-rank_amount", "-id"],
                name="break_open_amount",
            ),
        ),
        migrations.AddConstraint(
            model_name="contractbreak",
            constraint=models.UniqueConstraint(
                condition=models.Q(("cleared_at__isnull", True)),
                fields=("contract", "key"),
                name="one_open_break_per_key",
            ),
        ),
        migrations.AddIndex(
            model_name="breakchange",
            index=models.Index(
                condition=models.Q(("processed__isnull", True)),
                fields=["id"],
                name="breakchange_unprocessed",
            ),
        ),
    ]
