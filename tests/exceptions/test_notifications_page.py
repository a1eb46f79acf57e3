"""The notification history: what was sent, to whom, when, the outcome; filterable."""

import pytest
from django.test import Client

from exceptions.models import Channel
from exceptions.tasks import send_alerts
from tests.conftest import browser

from ..hooks import HookServer
from .helpers import failed_case

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def history(ingest_client, flow):
    with HookServer(replies=[(200, "ok"), (404, "no_service")]) as hook:
        Channel.objects.create(kind="slack", team="billing", config={"url": hook.url})
        failed_case(ingest_client, "SOW-SENT")
        send_alerts.run()
        failed_case(ingest_client, "SOW-DEAD")
        send_alerts.run()


def test_the_history_lists_every_alert_with_its_outcome(history, viewer):
    html = browser(viewer).get("/exceptions/notifications/").content.decode()
    assert "SOW-SENT" in html and "SOW-DEAD" in html
    assert '<span class="badge succeeded">sent</span>' in html
    assert '<span class="badge failed">failed</span>' in html
    assert "is disabled:" in html and "no_service" in html
    assert "secret-path" not in html  # the webhook URL's secret part is never shown


@pytest.mark.parametrize(
    ("query", "shown"),
    [("outcome=sent", {"SOW-SENT"}), ("outcome=failed", {"SOW-DEAD"}), ("q=dead", {"SOW-DEAD"}),
     ("team=erp", set())],
)  # fmt: skip
def test_filters(history, viewer, query, shown):
    html = browser(viewer).get(f"/exceptions/notifications/?{query}", **HX).content.decode()
    assert html.lstrip().startswith('<section id="history">')
    assert {cid for cid in ("SOW-SENT", "SOW-DEAD") if cid in html} == shown


def test_roles(history, operator, outsider):
    assert browser(operator).get("/exceptions/notifications/").status_code == 200
    assert browser(outsider).get("/exceptions/notifications/").status_code == 403
    assert Client().get("/exceptions/notifications/").status_code == 302
