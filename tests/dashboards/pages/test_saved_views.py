"""Saved views: each user names a page with its filters and comes back to it."""

import pytest
from django.test import Client

from dashboards.models import SavedView
from tests.conftest import browser

pytestmark = pytest.mark.django_db


def test_a_viewer_saves_a_view_and_finds_it_in_the_filter_bar(viewer):
    client = browser(viewer)
    response = client.post(
        "/views/",
        {
            "path": "/transactions/",
            "query": "region=EMEA&status=stuck&cursor=abc",
            "name": "EMEA stuck",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/transactions/?region=EMEA&status=stuck"
    saved = SavedView.objects.get(user=viewer)
    assert saved.url == "/transactions/?region=EMEA&status=stuck"  # the cursor is not kept
    html = client.get("/").content.decode()
    assert '<a href="/transactions/?region=EMEA&amp;status=stuck">EMEA stuck</a>' in html


def test_names_are_per_user_and_must_be_new(viewer, operator):
    form = {"path": "/", "query": "window=7d", "name": "Week"}
    browser(viewer).post("/views/", form)
    browser(operator).post("/views/", form)  # the same name for someone else is fine
    response = browser(viewer).post("/views/", form, follow=True)
    assert "already have a view named" in response.content.decode()
    assert SavedView.objects.filter(name="Week").count() == 2
    # Each user sees only their own.
    assert browser(operator).get("/").content.decode().count(">Week</a>") == 1


def test_only_dashboard_pages_and_a_name(viewer):
    client = browser(viewer)
    assert (
        "Only the overview"
        in client.post(
            "/views/", {"path": "https://evil.example/", "name": "x"}, follow=True
        ).content.decode()
    )
    assert (
        "Give the view a name"
        in client.post("/views/", {"path": "/", "name": " "}, follow=True).content.decode()
    )
    assert not SavedView.objects.exists()


def test_deleting_is_for_the_owner_only(viewer, operator):
    view = SavedView.objects.create(user=viewer, name="Mine", path="/")
    assert browser(operator).post(f"/views/{view.pk}/delete").status_code == 404
    response = browser(viewer).post(f"/views/{view.pk}/delete", {"back": "//evil.example/"})
    assert response["Location"] == "/" and not SavedView.objects.exists()


def test_saving_needs_the_csrf_token_and_a_role(viewer, outsider):
    assert browser(viewer, csrf=True).post("/views/", {"path": "/", "name": "x"}).status_code == 403
    assert browser(outsider).post("/views/", {"path": "/", "name": "x"}).status_code == 403
    assert Client().post("/views/", {"path": "/", "name": "x"}).status_code == 302
    assert not SavedView.objects.exists()


def test_filters_too_long_to_save_say_so(viewer):
    response = browser(viewer).post(
        "/views/",
        {"path": "/transactions/", "query": "q=" + "x" * 3000, "name": "long"},
        follow=True,
    )
    assert "too long to save" in response.content.decode()
    assert not SavedView.objects.exists()


def test_delete_never_sends_the_user_off_site(viewer):
    view = SavedView.objects.create(user=viewer, name="Mine", path="/")
    response = browser(viewer).post(f"/views/{view.pk}/delete", {"back": "/\\evil.example/"})
    assert response["Location"] == "/"
