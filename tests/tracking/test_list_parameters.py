"""A list parameter the API cannot read is a 400 that says which, never silently ignored."""

import pytest

from tests.conftest import session_client

pytestmark = pytest.mark.django_db
LISTS = ["/api/v1/transactions", "/api/v1/exceptions", "/api/v1/replays"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("size", ["abc", "-5", "0", "1.5", "٣"])
def test_a_page_size_that_is_not_a_size_is_refused(read_client, url, size):
    response = read_client.get(url, {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize("url", LISTS)
def test_page_sizes_past_the_maximum_are_capped(read_client, url):
    assert read_client.get(url, {"page_size": "100000"}).status_code == 200


def test_a_yes_no_filter_must_say_yes_or_no(read_client):
    response = read_client.get("/api/v1/transactions", {"stuck": "maybe"})
    assert response.status_code == 400
    assert "'maybe' is not true or false" in response.json()["stuck"][0]
    for value in ("true", "false", "1", "0"):
        assert read_client.get("/api/v1/transactions", {"stuck": value}).status_code == 200


def test_the_queues_yes_no_filters_too(operator):
    client = session_client(operator)
    assert client.get("/api/v1/exceptions", {"mine": "perhaps"}).status_code == 400
    assert client.get("/api/v1/exceptions", {"mine": "true"}).status_code == 200
