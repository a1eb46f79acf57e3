"""The audit page: admins find any change by who, what, which object and when, page back
through history, and download what they filtered as CSV. Other roles get a case's trail
only."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from audit import log as audit
from audit.models import AuditEntry
from tests.conftest import browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    # Read inside the test: the suite may run at a travelled-to moment (tests/conftest.py).
    return timezone.now()


@pytest.fixture
def history(db, now):
    def add(who, action, kind, object_id, days_ago, **more):
        audit.record(
            audit.Who(who), action, None, object_type=kind, object_id=object_id,
            at=now - timedelta(days=days_ago), **more,
        )  # fmt: skip

    add("ada-admin", "change", "sla_policy", "3", 10, before={"target": "2 days"},
        after={"target": "3 days"})  # fmt: skip
    add("os:deploy", "import", "fx_rates", "rates.csv", 5, after={"added": 12})
    add("ada-admin", "change", "flow", "7", 1, after={"replay_secret": "changed"})
    AuditEntry.objects.create(
        at=now, actor_name="omar-operator", action="resolve", object_type="case",
        object_id="41", case_id=41, reason="paid by hand",
    )  # fmt: skip


def rows_of(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def shown(response) -> str:
    return response.content.decode()


def test_only_admins_read_the_whole_log(viewer, operator, outsider, admin_user, history):
    for person in (viewer, operator, outsider):
        assert browser(person).get("/exceptions/audit/").status_code == 403
        assert browser(person).get("/exceptions/audit.csv").status_code == 403
    page = browser(admin_user).get("/exceptions/audit/")
    assert page.status_code == 200
    text = shown(page)
    # Newest first, each change as was → became, a secret only as "changed".
    assert text.index("paid by hand") < text.index("replay secret") < text.index("2 days")
    assert "2 days → 3 days" in text and 'href="/exceptions/41/"' in text


def test_the_menu_offers_the_log_to_admins_only(viewer, admin_user):
    assert 'href="/exceptions/audit/"' in shown(browser(admin_user).get("/"))
    assert 'href="/exceptions/audit/"' not in shown(browser(viewer).get("/"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("who=ada-admin", ["flow", "sla_policy", "user"]),  # "user": her sign-in
        ("action=import", ["fx_rates"]),
        ("type=flow&object=7", ["flow"]),
        ("type=flow&object=8", []),
        ("case=41", ["case"]),
    ],
)
def test_filters(admin_user, history, query, expected):
    response = browser(admin_user).get(f"/exceptions/audit.csv?{query}")
    assert response.status_code == 200
    assert sorted(r["object_type"] for r in rows_of(response)) == expected


def test_a_period_counts_whole_days(admin_user, history, now):
    start = (now - timedelta(days=5)).date().isoformat()
    end = (now - timedelta(days=1)).date().isoformat()
    response = browser(admin_user).get(f"/exceptions/audit/?from={start}&to={end}&format=csv")
    assert [r["object_type"] for r in rows_of(response)] == ["fx_rates", "flow"]


def test_bad_filters_are_said_not_dropped(admin_user, history):
    page = browser(admin_user).get("/exceptions/audit/?from=yesterday&case=x")
    assert page.status_code == 200
    assert "yesterday&#x27; is not a date" in shown(page) and "No entry matches" in shown(page)
    export = browser(admin_user).get("/exceptions/audit/?from=2027-01-02&to=2027-01-01&format=csv")
    assert export.status_code == 400 and b"ends before it starts" in export.content
    broken = browser(admin_user).get("/exceptions/audit/?cursor=%%%")
    assert "start from the first page" in shown(broken)


def test_the_filter_form_answers_htmx_with_the_entries_only(admin_user, history):
    response = browser(admin_user).get("/exceptions/audit/?who=os:deploy", HTTP_HX_REQUEST="true")
    text = shown(response)
    assert text.lstrip().startswith('<section id="entries">') and "<h1>" not in text
    assert "rates.csv" in text and "ada-admin" not in text
    assert response["Vary"].count("HX-Request") == 1


def test_older_pages_follow_the_cursor(admin_user, now):
    for n in range(120):
        audit.record(audit.SYSTEM, "open", None, object_type="case", object_id=str(n),
                     at=now - timedelta(minutes=n))  # fmt: skip
    client = browser(admin_user)
    seen, url = [], "/exceptions/audit/?who=system"
    while url:
        response = client.get(url)
        page = response.context["page"]
        seen += [e.object_id for e in page.rows]
        url = f"/exceptions/audit/?who=system&cursor={page.next_cursor}" if page.next_cursor else ""
    assert seen == [str(n) for n in range(120)]


def test_a_viewer_still_exports_a_case_trail(viewer, history):
    response = browser(viewer).get("/exceptions/audit.csv?case=41")
    assert response.status_code == 200
    assert [r["reason"] for r in rows_of(response)] == ["paid by hand"]
    assert browser(viewer).get("/exceptions/audit.csv?case=41&who=x").status_code == 403


def test_the_export_keeps_every_matching_entry_oldest_first(admin_user, history):
    rows = rows_of(browser(admin_user).get("/exceptions/audit/?format=csv"))
    assert [(r["object_type"], r["action"]) for r in rows] == [
        ("sla_policy", "change"), ("fx_rates", "import"), ("flow", "change"),
        ("case", "resolve"), ("user", "sign_in"),
    ]  # fmt: skip
