"""A small ledger for the page tests, reported through the events API, metrics computed."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from tests.dashboards.helpers import report, step

HX = {"HTTP_HX_REQUEST": "true"}


def build(ingest_client) -> dict[str, str]:
    """Five billing transactions: completed, two failed, one stuck (5 days without news
    after work approval, 2 days allowed), one just started. Returns what each one is."""
    now = timezone.now()
    ago = lambda hours: now - timedelta(hours=hours)  # noqa: E731
    emea = {"region": "EMEA", "business_unit": "Consulting", "currency": "USD"}
    na = {"region": "NA", "business_unit": "Advisory", "currency": "USD"}
    report(
        ingest_client,
        step("P-DONE", "work_approved", ago(30), amount="100.00", customer="Acme", **emea),
        step("P-DONE", "invoice_generated", ago(29)),
        step("P-DONE", "invoice_posted", ago(28)),
        step("P-DONE", "payment_received", ago(27)),
        step("P-FAIL-1", "work_approved", ago(20), amount="500.00", customer="Acme", **emea),
        step("P-FAIL-1", "invoice_generated", ago(19), "failed", error={"code": "ERP-422"}),
        step("P-FAIL-2", "work_approved", ago(20), amount="300.00", customer="=cmd()", **na),
        step("P-FAIL-2", "invoice_generated", ago(18)),
        step("P-FAIL-2", "invoice_posted", ago(17), "failed", error={"code": "ERP-500"}),
        step("P-STUCK", "work_approved", ago(120), amount="1000.00", customer="Globex", **emea),
        step("P-NEW", "work_approved", ago(1), amount="50.00", customer="Initech", **na),
    )
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return {
        "completed": "P-DONE",
        "failed": "P-FAIL-1 P-FAIL-2",
        "stuck": "P-STUCK",
        "moving": "P-NEW",
    }


def rows_of(html: str) -> list[str]:
    """Correlation IDs of the transactions list's rows, in order."""
    import re

    return re.findall(r'<tr id="txn-\d+">\s*<td><a href="/transactions/([^/]+)/"', html)
