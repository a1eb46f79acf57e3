"""Cases of reconciliation breaks: five more kinds, each case tied to its break, and one
live case per stage and break (a stage's failure and its breaks are separate cases).
Alert rules may name the kind of case they alert on."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("c2c_exceptions", "0005_default_alert_rule"),
        ("dashboards", "0012_contracts"),
        ("tracking", "0010_contract_chain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="exceptioncase",
            name="one_live_case_per_stage",
        ),
        migrations.AddField(
            model_name="alertrule",
            name="case_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("failed", "Failed"),
                    ("stuck", "Stuck"),
                    ("version_mismatch", "Systems hold different versions"),
                    ("amount_mismatch", "Amounts differ between stages"),
                    ("unbilled", "Approved work not invoiced"),
                    ("over_billed", "Invoiced beyond the contract"),
                    ("duplicate_invoice", "Invoice duplicated"),
                ],
                help_text="Only cases of this kind: failed, stuck, or a reconciliation break's.",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="exceptioncase",
            name="break_key",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="exceptioncase",
            name="contract_break",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="dashboards.contractbreak",
            ),
        ),
        migrations.AlterField(
            model_name="exceptioncase",
            name="kind",
            field=models.CharField(
                choices=[
                    ("failed", "Failed"),
                    ("stuck", "Stuck"),
                    ("version_mismatch", "Systems hold different versions"),
                    ("amount_mismatch", "Amounts differ between stages"),
                    ("unbilled", "Approved work not invoiced"),
                    ("over_billed", "Invoiced beyond the contract"),
                    ("duplicate_invoice", "Invoice duplicated"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="exceptioncase",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["open", "acknowledged", "snoozed", "ignored"])),
                fields=("transaction", "stage", "break_key"),
                name="one_live_case_per_stage",
            ),
        ),
    ]
