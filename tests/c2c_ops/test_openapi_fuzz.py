"""schemathesis over the whole OpenAPI document: every operation, called with a key holding
every scope and with a signed-in admin's session, answers no 5xx, and every answer (status,
content type, body) is one the document describes.

Bounded for the suite: 25 examples per operation and caller, times ``C2C_FUZZ_SCALE``
(docs/reliability.md gives the figures of a longer run).
"""

import os
from contextlib import contextmanager

import orjson
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from c2c_ops.wsgi import application
from tests.conftest import make_key
from tests.exceptions.helpers import failed_case
from tracking.models import Flow

EXAMPLES = 25 * int(os.environ.get("C2C_FUZZ_SCALE", "1"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict:
    """The document /api/schema/ serves, made without a request (no database needed)."""
    return SchemaGenerator().get_schema(request=None, public=True)


# OTLP protobuf bodies are bytes on the wire, as octet-stream ones are.
schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")
schema = schemathesis.openapi.from_dict(orjson.loads(orjson.dumps(_document())))
schema.app = application


@contextmanager
def connection_kept():
    """Called as a WSGI app, Django closes the database connection after each request, and
    with it the test's transaction: keep it open, as Django's test client does for each of
    its requests (and reconnects after, so this must wrap the call itself)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def key_caller(db) -> tuple[dict, dict]:
    """A flow's key with every scope."""
    flow = Flow.objects.create(slug="fuzz-flow", name="Fuzz", owner_team="ops")
    return {"Authorization": f"Bearer {make_key(flow, 'ingest', 'read', 'operate')}"}, {}


@pytest.fixture
def session_caller(db, admin_user, client) -> tuple[dict, dict]:
    """A signed-in admin's browser: session cookie, CSRF cookie and header."""
    client.force_login(admin_user)
    token = get_token(RequestFactory().get("/"))
    session = client.cookies["sessionid"].value
    return {"X-CSRFToken": token}, {"sessionid": session, "csrftoken": token}


@pytest.fixture
def known(ingest_client) -> dict[str, object]:
    """Rows for half the ids the fuzzer sends to find (the other half it makes up): a
    transaction with a case opened on its failure, and a replay asked for by a person."""
    case = failed_case(ingest_client, "SOW-FUZZ", amount="10.00")
    return {"id": case.pk, "correlation_id": "SOW-FUZZ"}


def call(case, caller: tuple[dict, dict], known: dict[str, object]) -> None:
    headers, cookies = caller
    for name, value in known.items():
        # Derived from the case, so that a failing example replays the same way.
        if name in (case.path_parameters or {}) and hash(repr(case.body)) % 2:
            case.path_parameters[name] = value
    with connection_kept():
        case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ
def test_with_a_key_every_operation_answers_as_documented(case, key_caller, known):
    call(case, key_caller, known)


@schema.parametrize()
@FUZZ
def test_with_a_session_every_operation_answers_as_documented(case, session_caller, known):
    call(case, session_caller, known)
