"""The queue's money x age ranking: the bounded query returns exactly the pages a full sort
of every case would, whatever the amounts, ages, filters and page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exceptions import queue
from exceptions.models import ExceptionCase
from tracking.models import Journey, Stage, Transaction

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STAGES = ["work_approved", "invoice_generated", "invoice_posted", "payment_received"]

amounts = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0.00"), max_value=Decimal("900000"), places=2),
    st.sampled_from([Decimal("100.00"), Decimal("5000.00")]),  # ties
)
cases = st.lists(
    st.tuples(
        amounts,
        st.integers(min_value=0, max_value=90 * 24 * 60),  # age in minutes
        st.sampled_from(["open", "acknowledged", "snoozed"]),
        st.sampled_from(["EMEA", "NA"]),
    ),
    min_size=0,
    max_size=80,
)


def make(rows: list[tuple]) -> None:
    journey = Journey.objects.get(slug="billing")
    stages = {s.slug: s for s in Stage.objects.filter(journey=journey)}
    made = []
    for n, (amount, minutes, status, region) in enumerate(rows):
        # Four stages per transaction: one live case per transaction + stage.
        if n % 4 == 0:
            txn = Transaction.objects.create(
                correlation_id=f"SOW-R-{n}", journey=journey, started_at=NOW, last_event_at=NOW
            )
        opened = NOW - timedelta(minutes=minutes)
        made.append(
            ExceptionCase(
                transaction=txn,
                correlation_id=txn.correlation_id,
                journey=journey,
                stage=stages[STAGES[n % 4]],
                kind="failed",
                amount=amount,
                status=status,
                region=region,
                opened_at=opened,
                last_seen_at=opened,
            )
        )
    ExceptionCase.objects.bulk_create(made)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=cases,
    region=st.sampled_from(["", "EMEA"]),
    limit=st.integers(min_value=1, max_value=10),
    offset=st.integers(min_value=0, max_value=12),
)
def test_the_bounded_queries_return_the_full_sorts_page(rows, region, limit, offset):
    with transaction.atomic():
        make(rows)
        chosen = queue.active(ExceptionCase.objects.all())
        if region:
            chosen = chosen.filter(region=region)
        for sort in ("rank", "amount"):
            full = list(
                queue.ranked(chosen, sort, NOW).values_list("id", flat=True)[
                    offset : offset + limit
                ]
            )
            assert queue.page_ids(chosen, sort, NOW, offset, limit) == full, sort
        transaction.set_rollback(True)


def test_money_times_age_outranks_money_alone(db):
    make(
        [
            (Decimal("90000.00"), 60, "open", "NA"),  # 90,000 x 1 h
            (Decimal("5000.00"), 30 * 24 * 60, "open", "NA"),  # 5,000 x 30 d
            (None, 60 * 24 * 60, "open", "NA"),  # unpriced: last, however old
            (Decimal("100.00"), 60, "acknowledged", "NA"),
        ]
    )
    ids = queue.page_ids(queue.active(ExceptionCase.objects.all()), "rank", NOW, 0, 4)
    amounts = list(ExceptionCase.objects.in_bulk(ids)[pk].amount for pk in ids)
    assert amounts == [Decimal("5000.00"), Decimal("90000.00"), Decimal("100.00"), None]
