"""``manage.py create_api_key --expires``: days from now or an ISO 8601 moment."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tracking.models import FlowAPIKey

pytestmark = pytest.mark.django_db


def create(*extra: str) -> FlowAPIKey:
    call_command("create_api_key", "psa-to-billing", *extra, stdout=StringIO(), stderr=StringIO())
    return FlowAPIKey.objects.get()


def test_a_number_of_days():
    before = timezone.now()
    key = create("--expires", "90")
    assert before + timedelta(days=90) <= key.expiry_date <= timezone.now() + timedelta(days=90)


def test_an_iso_moment_with_and_without_an_offset():
    moment = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    assert create("--expires", moment.isoformat()).expiry_date == moment
    FlowAPIKey.objects.all().delete()
    local = timezone.localtime(moment).replace(tzinfo=None)
    assert create("--expires", local.isoformat()).expiry_date == moment


def test_no_expiry_by_default():
    assert create().expiry_date is None


@pytest.mark.parametrize("value", ["0", "soon", "past"])
def test_refuses_what_is_no_future_moment(value):
    if value == "past":
        value = (timezone.now() - timedelta(minutes=1)).isoformat()
    with pytest.raises(CommandError, match="--expires"):
        create("--expires", value)
    assert not FlowAPIKey.objects.exists()
