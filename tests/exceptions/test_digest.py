"""The daily digest: opt in from the overview, one email a day through real SMTP, with
revenue at risk, SLA adherence and the largest stuck transactions."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from exceptions import digest
from exceptions.models import DigestSubscription
from tests.conftest import browser
from tests.dashboards.helpers import report, step

from ..hooks import SmtpServer

pytestmark = pytest.mark.django_db


def test_a_viewer_opts_in_and_out_from_the_overview(viewer):
    client = browser(viewer)
    assert "Email me a daily digest" in client.get("/").content.decode()
    client.post("/exceptions/digest", {"subscribe": "yes"})
    assert DigestSubscription.objects.filter(user=viewer).exists()
    assert "You get the daily digest" in client.get("/").content.decode()
    client.post("/exceptions/digest", {"subscribe": "no"})
    assert not DigestSubscription.objects.exists()


def test_opting_in_needs_csrf_an_address_and_a_role(viewer, outsider):
    assert (
        browser(viewer, csrf=True).post("/exceptions/digest", {"subscribe": "yes"}).status_code
        == 403
    )
    assert browser(outsider).post("/exceptions/digest", {"subscribe": "yes"}).status_code == 403
    viewer.email = ""
    viewer.save()
    response = browser(viewer).post("/exceptions/digest", {"subscribe": "yes"}, follow=True)
    assert "has no email address" in response.content.decode()
    assert not DigestSubscription.objects.exists()


def test_the_digest_goes_out_once_a_day_with_the_figures(ingest_client, viewer, operator):
    now = timezone.now()
    report(
        ingest_client,
        step(
            "D-STUCK-1", "work_approved", now - timedelta(days=5), amount="7000.00", currency="USD"
        ),
        step(
            "D-STUCK-2", "work_approved", now - timedelta(days=5), amount="3000.00", currency="USD"
        ),
    )
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115
    DigestSubscription.objects.create(user=viewer)
    with SmtpServer() as server, server.settings(DIGEST_HOUR=0):
        assert digest.send_due() == 1
        assert digest.send_due() == 0  # already sent today
    (got,) = server.messages
    assert got["to"] == [viewer.email]
    mail = got["message"]
    assert "10,000 USD at risk, 2 stuck" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert text.index("D-STUCK-1") < text.index("D-STUCK-2")  # largest first
    assert "http://127.0.0.1:8000/transactions/D-STUCK-1/" in text
    assert "Billing latency" in text
    assert (
        'href="http://127.0.0.1:8000/transactions/D-STUCK-1/"'
        in mail.get_body(("html",)).get_content()
    )


def test_a_failed_send_is_tried_again(viewer):
    DigestSubscription.objects.create(user=viewer)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=9,  # nothing listens: the send fails
        DIGEST_HOUR=0,
    ):
        assert digest.send_due() == 0
    assert DigestSubscription.objects.get().last_sent_on is None  # not marked sent


def test_a_refused_address_does_not_hold_back_the_others(viewer, operator):
    viewer.email = "gone@example.test"
    viewer.save()
    DigestSubscription.objects.create(user=viewer)  # first in line
    DigestSubscription.objects.create(user=operator)
    with SmtpServer(refuse=("gone@example.test",)) as server, server.settings(DIGEST_HOUR=0):
        assert digest.send_due() == 1
    assert [m["to"] for m in server.messages] == [[operator.email]]
    assert DigestSubscription.objects.get(user=viewer).last_sent_on is None
