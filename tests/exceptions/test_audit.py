"""The audit log is append-only, and exports as CSV safe to open in a spreadsheet."""

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEntry
from exceptions import actions
from exceptions.actors import Actor
from tests.conftest import session_client

from .helpers import failed_case

pytestmark = pytest.mark.django_db


def test_entries_cannot_be_changed_or_deleted(ingest_client, flow):
    case = failed_case(ingest_client, "SOW-1")
    entry = AuditEntry.objects.filter(case_id=case.pk).first()
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    # Not even around the model: the database refuses too.
    for sql in (
        "UPDATE c2c_exceptions_auditentry SET reason = 'x'",
        "DELETE FROM c2c_exceptions_auditentry",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEntry.objects.filter(case_id=case.pk).count() == 2


def test_csv_export_of_a_case(ingest_client, flow, operator, viewer):
    case = failed_case(ingest_client, "SOW-1")
    actions.resolve(Actor.of(operator), case.pk, '=HYPERLINK("http://evil")')

    response = session_client(viewer).get(f"/exceptions/audit.csv?case={case.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["open", "route", "resolve"]
    assert rows[2]["actor"] == "omar-operator"
    assert rows[2]["before"] == '{"status":"open","snoozed_until":null}'
    assert rows[2]["reason"].startswith("'=")  # not run as a formula


def test_csv_export_needs_a_role(ingest_client, flow, outsider):
    failed_case(ingest_client, "SOW-1")
    assert session_client(outsider).get("/exceptions/audit.csv").status_code == 403


def test_the_case_page_shows_each_change_as_was_and_became(ingest_client, flow, operator, viewer):
    case = failed_case(ingest_client, "SOW-1")
    actions.resolve(Actor.of(operator), case.pk, "fixed in the ERP")

    page = session_client(viewer).get(f"/exceptions/{case.pk}/").content.decode()
    log = page[page.index('id="audit-log"') :]

    assert "{'status'" not in log and '{"status"' not in log
    assert '<span class="muted">status</span> open → resolved' in log
    assert "fixed in the ERP" in log
