"""Cursor pages: walking them gives every row once, in (value, id) order, NULLs last."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboards import keyset
from tracking.models import Journey, Transaction

pytestmark = pytest.mark.django_db
T = datetime(2026, 11, 1, tzinfo=UTC)


def walk(field: str, descending: bool, size: int) -> list[int]:
    seen, cursor = [], ""
    for _ in range(100):
        got = keyset.page(Transaction.objects.all(), field, descending, cursor, size)
        seen += [t.pk for t in got.rows]
        if not got.next_cursor:
            return seen
        cursor = got.next_cursor
    raise AssertionError("the pages never ended")


def expected(field: str, descending: bool) -> list[int]:
    rows = list(Transaction.objects.values_list(field, "id"))
    valued = sorted((r for r in rows if r[0] is not None), reverse=descending)
    nulls = sorted((r for r in rows if r[0] is None), key=lambda r: r[1], reverse=descending)
    return [pk for _, pk in valued + nulls]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.one_of(st.none(), st.sampled_from(["10.00", "20.00", "35.50"])), max_size=25
    ),
    descending=st.booleans(),
    size=st.integers(min_value=1, max_value=6),
)
def test_pages_cover_every_row_once_in_order(amounts, descending, size):
    with transaction.atomic():
        journey = Journey.objects.get(slug="billing")
        Transaction.objects.bulk_create(
            Transaction(correlation_id=f"K-{n}", journey=journey, started_at=T, last_event_at=T,
                        amount=None if a is None else Decimal(a))
            for n, a in enumerate(amounts)
        )  # fmt: skip
        assert walk("amount", descending, size) == expected("amount", descending)
        transaction.set_rollback(True)


def test_a_tampered_cursor_is_refused(db):
    with pytest.raises(keyset.BadCursor):
        keyset.page(Transaction.objects.all(), "amount", True, "eyJub3QiOiAiYSBjdXJzb3IifQ", 5)
