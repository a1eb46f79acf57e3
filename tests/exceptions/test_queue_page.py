"""The queue page: one view for the page and its fragment, ranked, filtered from the URL."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from exceptions.models import ExceptionCase
from tests.conftest import browser

from .helpers import failed_case

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cases(ingest_client, flow):
    small = failed_case(ingest_client, "SOW-SMALL", amount="100.00")
    big = failed_case(ingest_client, "SOW-BIG", amount="90000.00")
    old = failed_case(ingest_client, "SOW-OLD", amount="5000.00")
    # Money x age: 5,000 stuck for 30 days outranks 90,000 for an hour.
    now = timezone.now()
    ExceptionCase.objects.filter(pk=old.pk).update(opened_at=now - timedelta(days=30))
    ExceptionCase.objects.filter(pk__in=[small.pk, big.pk]).update(
        opened_at=now - timedelta(hours=1)
    )
    return {"small": small, "big": big, "old": old}


def order(html: str, *cids: str) -> list[str]:
    return sorted(cids, key=html.index)


def test_the_full_page_ranks_by_money_times_age(cases, viewer):
    response = browser(viewer).get("/exceptions/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert order(html, "SOW-SMALL", "SOW-BIG", "SOW-OLD") == ["SOW-OLD", "SOW-BIG", "SOW-SMALL"]
    assert "3 cases open or acknowledged" in html
    assert "Vary" in response and "HX-Request" in response["Vary"]


def test_a_viewer_sees_no_action_buttons(cases, viewer):
    html = browser(viewer).get("/exceptions/").content.decode()
    assert ">Acknowledge</button>" not in html and 'id="bulk"' not in html


def test_htmx_gets_only_the_table_fragment(cases, operator):
    response = browser(operator).get("/exceptions/?sort=amount", **HX)
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<section id="queue-section">')
    assert order(html, "SOW-SMALL", "SOW-BIG", "SOW-OLD") == ["SOW-BIG", "SOW-OLD", "SOW-SMALL"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("min_amount=1000", {"SOW-BIG", "SOW-OLD"}),
        ("min_amount=1000&max_amount=10000", {"SOW-OLD"}),
        ("flow=psa-to-billing", {"SOW-SMALL", "SOW-BIG", "SOW-OLD"}),
        ("flow=nope", set()),
        ("status=resolved", set()),
        ("unassigned=true", {"SOW-SMALL", "SOW-BIG", "SOW-OLD"}),
        ("mine=true", set()),
        ("error_code=ERP-500", {"SOW-SMALL", "SOW-BIG", "SOW-OLD"}),
    ],
)
def test_filters_live_in_the_url(cases, viewer, query, shown):
    html = browser(viewer).get(f"/exceptions/?{query}", **HX).content.decode()
    assert {cid for cid in ("SOW-SMALL", "SOW-BIG", "SOW-OLD") if cid in html} == shown


def test_the_count_follows_the_filters(cases, viewer):
    client = browser(viewer)
    assert (
        "1 case open or acknowledged"
        in client.get("/exceptions/?min_amount=50000").content.decode()
    )
    ExceptionCase.objects.filter(pk=cases["small"].pk).update(status="snoozed")
    html = client.get("/exceptions/").content.decode()
    assert "2 cases open or acknowledged" in html and "Page 1 of 1" in html


def test_a_rows_more_menu_loads_its_forms_when_opened(cases, operator):
    case = cases["big"]
    page = browser(operator).get("/exceptions/").content.decode()
    # The page itself carries a link to the case page (which works without JavaScript) and
    # the htmx request that replaces it with the forms.
    assert f'hx-get="/exceptions/{case.pk}/menu?next=' in page
    assert f'action="/exceptions/{case.pk}/snooze"' not in page
    response = browser(operator).get(
        f"/exceptions/{case.pk}/menu?next=/exceptions/%3Fmine%3Dtrue", **HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    for verb in ("assign", "snooze", "resolve", "ignore", "replay", "note"):
        assert f'hx-post="/exceptions/{case.pk}/{verb}"' in html
    assert html.count("csrfmiddlewaretoken") == 6
    assert 'name="next" value="/exceptions/?mine=true"' in html
    assert "<option >omar-operator</option>" in html  # an owner the operator can pick


def test_the_more_menu_is_for_operators_and_keeps_next_on_this_site(cases, operator, viewer):
    url = f"/exceptions/{cases['big'].pk}/menu"
    assert browser(viewer).get(url, **HX).status_code == 403
    html = browser(operator).get(f"{url}?next=https://evil.example/", **HX).content.decode()
    assert "evil.example" not in html
    response = browser(operator).get(url)  # no htmx: the case page has the same forms
    assert response.status_code == 302 and response["Location"] == f"/exceptions/{cases['big'].pk}/"


def test_a_bad_filter_value_says_so(cases, viewer):
    html = browser(viewer).get("/exceptions/?min_amount=lots").content.decode()
    assert "min_amount" in html and "Enter a number" in html


def test_taking_a_case_inline_updates_the_row_and_the_counters(cases, operator):
    case = cases["big"]
    response = browser(operator).post(
        f"/exceptions/{case.pk}/assign", {"owner": "me", "next": "/exceptions/"}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="case-{case.pk}">')
    assert "omar-operator" in html
    assert 'id="counters"' in html and 'hx-swap-oob="true"' in html
    assert '<strong id="count-mine">1</strong>' in html
    assert '<strong id="count-unassigned">2</strong>' in html
    case.refresh_from_db()
    assert case.owner == operator


def test_an_inline_refusal_shows_in_the_row(cases, operator):
    response = browser(operator).post(f"/exceptions/{cases['big'].pk}/resolve", {}, **HX)
    assert response.status_code == 200
    assert "A reason is required." in response.content.decode()


@pytest.mark.parametrize("action", ["assign", "acknowledge", "snooze", "resolve", "replay"])
def test_viewers_and_outsiders_cannot_act(cases, viewer, outsider, action):
    for user in (viewer, outsider):
        response = browser(user).post(f"/exceptions/{cases['big'].pk}/{action}", {}, **HX)
        assert response.status_code == 403
    assert ExceptionCase.objects.get(pk=cases["big"].pk).status == "open"


def test_outsiders_cannot_read_and_strangers_must_sign_in(cases, outsider):
    assert browser(outsider).get("/exceptions/").status_code == 403
    response = Client().get("/exceptions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_htmx_posts_need_the_csrf_token(cases, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    url = f"/exceptions/{cases['big'].pk}/acknowledge"
    assert client.post(url, **HX).status_code == 403
    # The page puts the token in hx-headers on <body>; htmx sends it as X-CSRFToken.
    page = client.get("/exceptions/").content.decode()
    token = page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    assert client.post(url, HTTP_X_CSRFTOKEN=token, **HX).status_code == 200


def test_without_javascript_a_post_redirects_back_with_a_message(cases, operator):
    client = browser(operator)
    response = client.post(
        f"/exceptions/{cases['big'].pk}/acknowledge", {"next": "/exceptions/?sort=amount"}
    )
    assert response.status_code == 303 and response["Location"] == "/exceptions/?sort=amount"
    assert f"Case {cases['big'].pk} acknowledged." in client.get("/exceptions/").content.decode()


def test_next_cannot_send_the_user_elsewhere(cases, operator):
    response = browser(operator).post(
        f"/exceptions/{cases['big'].pk}/acknowledge", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/exceptions/{cases['big'].pk}/"


def test_bulk_acknowledge(cases, operator):
    ids = [cases["big"].pk, cases["old"].pk]
    client = browser(operator)
    response = client.post("/exceptions/bulk", {"action": "acknowledge", "ids": ids})
    assert response.status_code == 303
    assert ExceptionCase.objects.filter(status="acknowledged").count() == 2
    assert "Acknowledge: 2 of 2 cases done." in client.get("/exceptions/").content.decode()


def test_bulk_replay_previews_before_it_runs(cases, operator, flow):
    flow.replay_url, flow.replay_secret = "http://127.0.0.1:9/replay", "s"
    flow.save()
    client = browser(operator)
    ids = [cases["big"].pk, cases["small"].pk]
    response = client.post("/exceptions/bulk", {"action": "replay", "ids": ids, "reason": "x"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Replay 2 of 2 selected cases?" in html
    assert not cases["big"].replays.exists()

    response = client.post(
        "/exceptions/bulk", {"action": "replay", "ids": ids, "reason": "x", "confirm": "1"}
    )
    assert response.status_code == 303
    # Above REPLAY_APPROVAL_THRESHOLD (10,000 by default) a second operator must approve.
    assert cases["big"].replays.get().status == "awaiting_approval"
    assert cases["small"].replays.get().status == "requested"
    # A second preview now refuses both: their replays are pending.
    html = client.post(
        "/exceptions/bulk", {"action": "replay", "ids": ids, "reason": "x"}
    ).content.decode()
    assert "Replay 0 of 2 selected cases?" in html and "still pending" in html


def test_the_case_page_shows_the_audit_trail(cases, operator, viewer):
    case = cases["big"]
    browser(operator).post(f"/exceptions/{case.pk}/note", {"body": "ERP ticket INC-42"})
    html = browser(viewer).get(f"/exceptions/{case.pk}/").content.decode()
    assert "ERP ticket INC-42" in html
    assert html.count("<td>system</td>") == 2  # opened and routed
    assert "omar-operator" in html
    assert "Add note" not in html  # a viewer reads only


def test_approval_buttons_show_for_a_second_operator_only(cases, operator, admin_user, flow):
    from django.test import override_settings

    flow.replay_url, flow.replay_secret = "http://127.0.0.1:9/replay", "s"
    flow.save()
    case = cases["big"]
    with override_settings(REPLAY_APPROVAL_THRESHOLD=Decimal("1000")):
        browser(operator).post(f"/exceptions/{case.pk}/replay", {"reason": "ERP back"})
    replay = case.replays.get()
    assert replay.status == "awaiting_approval"
    assert "Approve" not in browser(operator).get(f"/exceptions/{case.pk}/").content.decode()
    assert "Approve" in browser(admin_user).get(f"/exceptions/{case.pk}/").content.decode()

    response = browser(operator).post(f"/exceptions/replays/{replay.pk}/approve")
    assert response.status_code == 303
    replay.refresh_from_db()
    assert replay.status == "awaiting_approval"  # refused: the requester cannot approve
    browser(admin_user).post(f"/exceptions/replays/{replay.pk}/approve")
    replay.refresh_from_db()
    assert replay.status == "requested" and replay.decided_by_name == "ada-admin"
