"""An operator signs in, takes a case, replays it, watches it settle, and finds the alert
the case raised in the notification history (real chromium)."""

import pytest

from c2c_ops.celery import app as celery_app
from exceptions import intake
from exceptions.models import Channel, ExceptionCase
from exceptions.tasks import send_alerts
from tests.conftest import PASSWORD

from ..browser import shot
from ..dashboards.helpers import report
from ..hooks import HookServer
from ..receiver import Receiver
from .helpers import billing, failed_case

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_celery():
    # The live server enqueues the replay on commit; run it in-process instead of needing a
    # worker, so the page shows what a worker would have done.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_operator_takes_and_replays_a_case(
    live_server,
    page,
    operator,
    ingest_client,
    flow,
    eager_celery,
):
    with Receiver("browser-secret") as receiver, HookServer() as slack:
        flow.replay_url, flow.replay_secret = receiver.url, "browser-secret"
        flow.save()
        Channel.objects.create(kind="slack", team="billing", config={"url": slack.url})
        case = failed_case(ingest_client, "SOW-BROWSER", amount="2500.00")
        send_alerts.run()  # what the worker does every few seconds: the team hears of it

        page.goto(f"{live_server.url}/exceptions/")
        page.fill("input[name=username]", operator.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/exceptions/")
        row = page.locator(f"#case-{case.pk}")
        assert "unassigned" in row.inner_text()
        shot(page, "exceptions-queue")

        # Take it: htmx swaps the row and the counters in place, no page load.
        row.get_by_role("button", name="Take").click()
        page.wait_for_function(
            "() => document.querySelector('#count-mine').textContent.trim() === '1'"
        )
        assert operator.username in page.locator(f"#case-{case.pk}").inner_text()

        # Replay from the row: "More" fetches its forms when opened, the row swaps in place.
        row = page.locator(f"#case-{case.pk}")
        row.locator("summary", has_text="More").click()
        row.get_by_label("Reason to replay").fill("ERP is back after the outage")
        row.get_by_role("button", name="Replay").click()
        page.wait_for_function(
            f"() => document.querySelector('#case-{case.pk}').textContent"
            ".includes('Replay of case')"
        )
        assert "replay sent" in page.locator(f"#case-{case.pk}").inner_text().lower()

        page.get_by_role("link", name="SOW-BROWSER").click()
        page.wait_for_url(f"**/exceptions/{case.pk}/")
        assert "Sent" in page.locator("#replays").inner_text()
        assert len(receiver.valid) == 1
        shot(page, "exceptions-case-replay-sent")

        # The flow runs the stage again and reports success: the case settles by itself.
        report(ingest_client, billing("SOW-BROWSER", "invoice_generated", "succeeded", 6))
        intake.consume()
        page.reload()
        assert page.locator("#case-status").inner_text() == "Resolved"
        assert "Succeeded" in page.locator("#replays").inner_text()
        shot(page, "exceptions-case-resolved")

        # The team was told when the case opened: the history says so, from the menu.
        page.get_by_role("link", name="Notifications").click()
        page.wait_for_url("**/exceptions/notifications/")
        history = page.locator("#history").inner_text()
        assert "SOW-BROWSER" in history and "sent" in history
        assert len(slack.requests) == 1
        shot(page, "exceptions-notifications")
    assert ExceptionCase.objects.get(pk=case.pk).resolved_by == "system"
