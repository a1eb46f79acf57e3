"""The notification history's CSV: every alert the page's filters leave, newest first."""

import csv
import io
import re

import pytest
from django.test import Client

from exceptions.models import Alert, Channel
from exceptions.tasks import send_alerts
from tests.conftest import browser

from ..hooks import HookServer
from .helpers import failed_case

pytestmark = pytest.mark.django_db
PAGE = "/exceptions/notifications/"


@pytest.fixture
def history(ingest_client, flow):
    with HookServer(replies=[(200, "ok"), (404, "no_service")]) as hook:
        channel = Channel.objects.create(kind="slack", team="billing", config={"url": hook.url})
        failed_case(ingest_client, "SOW-SENT")
        send_alerts.run()
        failed_case(ingest_client, "SOW-DEAD")
        send_alerts.run()
    return channel


def exported(user, query: str = "") -> list[dict[str, str]]:
    response = browser(user).get(f"{PAGE}?format=csv&{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="c2c-notifications-\d{8}-\d{4}\.csv"', disposition)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_has_the_filtered_alerts_with_their_outcome(history, viewer):
    everything = exported(viewer)
    assert [r["correlation_id"] for r in everything] == ["SOW-DEAD", "SOW-SENT"]  # newest first
    (failed,) = exported(viewer, "outcome=failed")
    assert failed["correlation_id"] == "SOW-DEAD" and failed["outcome"] == "failed"
    assert (failed["team"], failed["channel_id"], failed["channel_kind"]) == (
        "billing", str(history.pk), "slack"
    )  # fmt: skip
    assert failed["channel_target"].startswith("http://127.0.0.1:")
    assert "no_service" in failed["last_attempt_detail"]
    assert failed["attempts"] == "1" and failed["last_attempt_at"]
    assert [r["correlation_id"] for r in exported(viewer, "q=sent")] == ["SOW-SENT"]
    assert exported(viewer, "team=erp") == []


def test_a_waiting_alert_says_so(history, viewer):
    Alert.objects.filter(case__correlation_id="SOW-SENT").update(processed_at=None, outcome="")
    (row,) = exported(viewer, "outcome=pending")
    assert (row["correlation_id"], row["outcome"]) == ("SOW-SENT", "waiting")


def test_a_cell_a_spreadsheet_would_run_is_quoted(history, viewer):
    Alert.objects.filter(case__correlation_id="SOW-SENT").update(subject="=HYPERLINK(evil)")
    (row,) = exported(viewer, "outcome=sent")
    assert row["subject"] == "'=HYPERLINK(evil)"


@pytest.mark.parametrize("query", ["kind=bogus", "outcome=lost", "channel=abc"])
def test_a_filter_no_menu_offers_is_an_error_not_ignored(history, viewer, query):
    response = browser(viewer).get(f"{PAGE}?format=csv&{query}")
    assert response.status_code == 400 and query.split("=")[0] in response.content.decode()
    html = browser(viewer).get(f"{PAGE}?{query}").content.decode()
    assert 'class="flash error"' in html and "SOW-SENT" not in html


def test_only_those_who_see_the_history_export_it(history, outsider):
    assert browser(outsider).get(f"{PAGE}?format=csv").status_code == 403
    assert Client().get(f"{PAGE}?format=csv").status_code == 302


def test_the_page_links_its_export_with_its_filters(history, viewer):
    html = browser(viewer).get(f"{PAGE}?outcome=failed&page=1").content.decode()
    assert f'href="{PAGE}?outcome=failed&amp;format=csv"' in html
