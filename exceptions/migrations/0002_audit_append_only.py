"""On PostgreSQL, refuse UPDATE and DELETE on the audit log at the database itself."""

from django.db import migrations

CREATE = """
CREATE FUNCTION c2c_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'the audit log is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER c2c_audit_append_only BEFORE UPDATE OR DELETE
    ON c2c_exceptions_auditentry FOR EACH ROW EXECUTE FUNCTION c2c_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS c2c_audit_append_only ON c2c_exceptions_auditentry;
DROP FUNCTION IF EXISTS c2c_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("c2c_exceptions", "0001_cases")]
    operations = [migrations.RunPython(forwards, backwards)]
