"""Shared fixtures: the database check, flows and keys, and the named personas."""

import atexit
import os
import shutil
import tempfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from dashboards import seeds as metric_seeds
from dashboards.models import BusinessCalendar, SlaPolicy
from exceptions.models import AlertRule
from exceptions.seeds import seed_alert_rules
from tracking import journeys, keys
from tracking.models import Flow, FlowAPIKey, Journey, Stage
from tracking.seeds import seed

# Each test process writes its Prometheus metric files to a directory of its own, outside
# the checkout. Settings named var/prometheus before this file runs, but nothing has
# imported prometheus_client yet, and it reads the variable when it writes its first file.
METRICS_DIR = tempfile.mkdtemp(prefix="c2c-test-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
atexit.register(shutil.rmtree, METRICS_DIR, ignore_errors=True)

PASSWORD = "persona-pass-1234"
# The browser fixture (``page``) for tests that drive chromium.
pytest_plugins = ["tests.browser"]


def pytest_configure(config: pytest.Config) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") and not os.environ.get("C2C_ALLOW_SQLITE_TESTS"):
        raise pytest.UsageError(
            "The test suite runs on PostgreSQL: run `make test`, or set DATABASE_URL="
            "postgres://... (C2C_ALLOW_SQLITE_TESTS=1 to run on SQLite anyway)."
        )


@pytest.fixture(scope="session", autouse=True)
def _no_stray_sessions(django_db_setup, django_db_blocker):
    # The live server answers chromium's keep-alive connections on daemon threads, and one
    # may still hold its database session when the run ends; dropping the test database
    # then fails. End such sessions first (only on this run's own test database).
    yield
    # A run of tests that never touch the database has no test database to clean.
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(
        "test_"
    ):
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _test_now() -> datetime | None:
    """The moment ``C2C_TEST_NOW`` names (RFC 3339), or None: the suite runs at real time.

    ``make test-clock`` runs the suite again at moments where date arithmetic breaks (a
    month's last minutes, a month's first, a DST change), so a test that reads "now" and
    only passes on most days fails there instead of on some day in CI.
    """
    raw = os.environ.get("C2C_TEST_NOW", "")
    if not raw:
        return None
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"C2C_TEST_NOW={raw!r} needs a UTC offset")
    return moment


@pytest.fixture(autouse=True)
def _clock(request):
    """Travel to ``C2C_TEST_NOW`` for the test, its fixtures and its in-process servers.

    A test marked ``time_machine(...)`` has pinned its own moment, because its data carries
    fixed dates; a ``live`` test starts processes of their own, which keep the real time,
    so ``make test-clock`` leaves those out.
    """
    moment = _test_now()
    if moment is None or request.node.get_closest_marker("time_machine"):
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


def _calendar_zone(BusinessCalendar) -> None:
    # The DST moment of ``make test-clock`` means something only in a zone that has one.
    zone = os.environ.get("C2C_TEST_CALENDAR_ZONE", "")
    if zone:
        ZoneInfo(zone)  # a typo fails here, not as a quiet UTC run
        BusinessCalendar.objects.filter(region="").update(timezone=zone)


@pytest.fixture(scope="session", autouse=True)
def _session_calendar(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _calendar_zone(BusinessCalendar)


@pytest.fixture(autouse=True)
def _seeded(request, _clock):
    # Transactional tests flush every table afterwards, the migration's seed included:
    # put it back. And a cached journey may not exist any more after a rollback.
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if transactional or {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("transactional_db")
        seed(Journey, Stage, Group)
        metric_seeds.seed(BusinessCalendar, SlaPolicy, Journey, Stage)
        seed_alert_rules(AlertRule)
        _calendar_zone(BusinessCalendar)
    journeys.invalidate()
    keys.forget()  # keys trusted by an earlier test belong to its database
    cache.clear()  # cached figures belong to the database of the test that made them
    yield
    journeys.invalidate()


@pytest.fixture
def workers(tmp_path):
    """Makes real Celery workers (``tests.worker.Worker``) on Redis; stops them afterwards."""
    from tests.worker import Worker, broker_url

    broker = redis.Redis.from_url(broker_url())
    broker.flushdb()  # no message left over from another test
    made: list[Worker] = []

    def make(name: str, beat: bool = False, **env: str) -> Worker:
        worker = Worker(name, tmp_path, beat=beat, **env)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()
    broker.flushdb()


@pytest.fixture
def flow(db) -> Flow:
    return Flow.objects.create(slug="psa-to-billing", name="PSA to billing", owner_team="billing")


@pytest.fixture
def other_flow(db) -> Flow:
    return Flow.objects.create(slug="billing-to-erp", name="Billing to ERP", owner_team="erp")


def make_key(flow: Flow, *scopes: str) -> str:
    _, key = FlowAPIKey.objects.create_key(flow=flow, scopes=list(scopes), name="test")
    return key


@pytest.fixture
def ingest_key(flow) -> str:
    return make_key(flow, "ingest")


@pytest.fixture
def read_key(flow) -> str:
    return make_key(flow, "read")


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def ingest_client(ingest_key) -> APIClient:
    return key_client(ingest_key)


@pytest.fixture
def read_client(read_key) -> APIClient:
    return key_client(read_key)


def _persona(username: str, role: str | None) -> User:
    user = User.objects.create_user(username, f"{username}@example.test", PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if role == "admin":  # as manage.py create_user --role admin makes them: the admin site
        user.is_staff = user.is_superuser = True
        user.save()
    return user


@pytest.fixture
def viewer(db) -> User:
    return _persona("vera-viewer", "viewer")


@pytest.fixture
def operator(db) -> User:
    return _persona("omar-operator", "operator")


@pytest.fixture
def admin_user(db) -> User:
    return _persona("ada-admin", "admin")


@pytest.fixture
def outsider(db) -> User:
    """Signed in, but holds no role."""
    return _persona("otto-outsider", None)


def browser(user: User, csrf: bool = False):
    """A browser-like Django test client signed in as ``user`` (``csrf``: enforce tokens)."""
    from django.test import Client

    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def session_client(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def vendor() -> str:
    return connection.vendor
