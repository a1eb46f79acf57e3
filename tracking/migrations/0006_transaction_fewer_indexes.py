from django.db import migrations, models

TABLE = "tracking_transaction"


def unique_constraint_name(cursor) -> str:
    """The name PostgreSQL gave the unique=True constraint (``..._key`` when created with
    the table, ``..._uniq`` when added later)."""
    cursor.execute(
        "SELECT con.conname FROM pg_constraint con JOIN pg_attribute att "
        "ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1] "
        "WHERE con.conrelid = %s::regclass AND con.contype = 'u' "
        "AND cardinality(con.conkey) = 1 AND att.attname = 'correlation_id'",
        [TABLE],
    )
    return cursor.fetchone()[0]


def like_index(schema_editor) -> str:
    """The name Django gave the varchar_pattern_ops index it adds beside unique=True."""
    return schema_editor._create_index_name(TABLE, ["correlation_id"], suffix="_like")


def keep_the_index(apps, schema_editor):
    """Rename the unique constraint and drop the LIKE index: nothing is rebuilt, so the
    ledger is locked for milliseconds, not for an index build over every transaction."""
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps its column UNIQUE; its next table rebuild names it
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        name = unique_constraint_name(cursor)
    schema_editor.execute(
        f"ALTER TABLE {quote(TABLE)} RENAME CONSTRAINT {quote(name)} "
        f"TO {quote('txn_correlation_id')}"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(like_index(schema_editor))}")


def restore_the_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"ALTER TABLE {quote(TABLE)} RENAME CONSTRAINT {quote('txn_correlation_id')} "
        f"TO {quote(TABLE + '_correlation_id_key')}"
    )
    schema_editor.execute(
        f"CREATE INDEX {quote(like_index(schema_editor))} "
        f"ON {quote(TABLE)} (correlation_id varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0005_explorer_sort_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="transaction",
            name="txn_status_stage",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="correlation_id",
                    field=models.CharField(max_length=200),
                ),
                migrations.AddConstraint(
                    model_name="transaction",
                    constraint=models.UniqueConstraint(
                        fields=("correlation_id",), name="txn_correlation_id"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(keep_the_index, restore_the_index)],
        ),
    ]
