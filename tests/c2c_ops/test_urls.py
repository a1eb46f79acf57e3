"""What every page carries: the menu, the icon, and a way back from the API docs."""

import pytest

from tests.conftest import session_client

pytestmark = pytest.mark.django_db


def test_the_menu_leads_to_the_notification_history_and_marks_it_current(viewer):
    client = session_client(viewer)
    overview = client.get("/").content.decode()
    assert 'href="/exceptions/notifications/"' in overview

    page = client.get("/exceptions/notifications/").content.decode()
    assert 'href="/exceptions/notifications/" aria-current="page"' in page


def test_pages_name_their_icon_and_favicon_ico_finds_it(viewer, client):
    page = session_client(viewer).get("/").content.decode()
    assert 'rel="icon" href="/static/img/favicon.svg"' in page

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"


def test_the_api_docs_link_back_to_the_app(client):
    page = client.get("/api/docs/").content.decode()
    assert 'href="/">← Back to c2c-ops</a>' in page
    assert 'id="swagger-ui"' in page
