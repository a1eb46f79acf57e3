"""``manage.py compute_metrics`` does what the worker does, once: cases open and settle too."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from exceptions.models import CaseStatus, ExceptionCase

from ..dashboards.helpers import report
from .helpers import billing, failure

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("compute_metrics", stdout=out)
    return out.getvalue()


def test_it_opens_the_case_of_a_failure_and_settles_it_after_a_success(ingest_client, flow):
    report(
        ingest_client,
        billing("SOW-1", "work_approved", "succeeded", 0, amount="900.00", currency="USD"),
        failure("SOW-1", "invoice_generated", hours=1),
    )

    printed = _run()

    case = ExceptionCase.objects.get(correlation_id="SOW-1")
    assert case.status == CaseStatus.OPEN
    assert "exception-intake: 1 status changes, 1 cases opened" in printed

    report(ingest_client, billing("SOW-1", "invoice_generated", "succeeded", 2))
    printed = _run()

    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert "1 resolved" in printed


def test_it_reports_on_every_periodic_job(flow):
    printed = _run()

    for name in settings.PERIODIC_JOBS:
        if name not in ("sweep-stuck", "refresh-rollups", "snapshot-risk"):
            assert f"\n{name}: " in printed
    assert "stuck sweep:" in printed and "revenue at risk:" in printed
    assert "daily-digest: 0 digests sent" in printed
