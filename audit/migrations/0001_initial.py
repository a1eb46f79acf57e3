"""The audit log moves here from the exceptions app: the table stays as it is (with its
rows and its append-only trigger), only Django's idea of which app owns it changes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table, created (with its trigger) by the exceptions app's migrations.
        ("c2c_exceptions", "0006_break_cases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("at", models.DateTimeField(db_index=True)),
                        (
                            "actor_name",
                            models.CharField(
                                help_text="username, flow:<slug>, rule:<id>, os:<user>, system",
                                max_length=150,
                            ),
                        ),
                        ("action", models.CharField(max_length=40)),
                        ("object_type", models.CharField(max_length=40)),
                        ("object_id", models.CharField(max_length=64)),
                        ("case_id", models.BigIntegerField(blank=True, null=True)),
                        ("correlation_id", models.CharField(blank=True, max_length=200)),
                        ("before", models.JSONField(blank=True, default=dict)),
                        ("after", models.JSONField(blank=True, default=dict)),
                        ("reason", models.TextField(blank=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "db_table": "c2c_exceptions_auditentry",
                        "ordering": ["at", "id"],
                        "indexes": [
                            models.Index(fields=["case_id", "at"], name="audit_case"),
                            models.Index(fields=["correlation_id", "at"], name="audit_txn"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
