from django.db import DataError, OperationalError
from django.test import RequestFactory

from c2c_ops.middleware import DatabaseUnavailableMiddleware
from tracking.ledger import ConcurrentWrite


def answer(exception: Exception):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    return middleware.process_exception(RequestFactory().post("/api/v1/events"), exception)


def test_an_unreachable_database_asks_for_a_retry(caplog):
    response = answer(OperationalError("out of shared memory"))
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    # The operator needs the database's own words to act on a 503.
    assert "OperationalError: out of shared memory" in caplog.text


def test_a_write_still_contended_after_retries_asks_for_a_retry():
    response = answer(ConcurrentWrite("gave up"))
    assert (response.status_code, response["Retry-After"]) == (503, "5")


def test_a_value_the_database_refuses_is_400_not_a_retry_loop(caplog):
    response = answer(DataError("value too long for type character varying(100)"))
    assert response.status_code == 400
    assert not response.has_header("Retry-After")
    # The database's message (tables, columns, types) goes to the log, not to the client.
    assert b"character varying" not in response.content
    assert "character varying(100)" in caplog.text


def test_other_errors_are_left_alone():
    assert answer(ValueError("bug")) is None
