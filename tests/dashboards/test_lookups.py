"""``measure__any``: the measure list that rollup readers pass as one array."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.models import CoarseRollup, Rollup

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 11, 2, tzinfo=UTC)
# Text an array literal must quote: a comma, braces, a quote, a backslash, a space.
AWKWARD = ["sla_met:1", "a,b", "{x}", 'it"s', "o'k", "back\\slash", "two words", "NULL"]


def rows(measures: list[str]) -> None:
    for model in (Rollup, CoarseRollup):
        for measure in measures:
            model.objects.create(
                grain=86400, bucket=DAY, measure=measure, journey="billing", count=1
            )


def test_any_matches_each_named_measure_exactly_and_nothing_else():
    rows([*AWKWARD, "sla_met:10", "a", "b", "x", "null"])
    for model in (Rollup, CoarseRollup):
        found = model.objects.filter(measure__any=AWKWARD).values_list("measure", flat=True)
        assert sorted(found) == sorted(AWKWARD)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array is PostgreSQL's")
def test_any_sends_the_list_as_one_parameter():
    rows(["started"])
    names = [f"latency:3:{index}" for index in range(121)]
    with CaptureQueriesContext(connection) as queries:
        assert Rollup.objects.filter(measure__any=["started", *names]).exists()
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "= ANY(" in sql
    assert sql.count("latency:3:") == 121  # all inside the one array literal
    assert " IN (" not in sql


def test_an_empty_list_matches_nothing_without_a_query():
    rows(["started"])
    with CaptureQueriesContext(connection) as queries:
        assert list(Rollup.objects.filter(measure__any=[])) == []
    assert queries.captured_queries == []


@pytest.mark.parametrize("wrong", ["started", None])
def test_anything_but_a_list_of_values_is_refused(wrong):
    with pytest.raises(TypeError, match="list of values"):
        Rollup.objects.filter(measure__any=wrong)


def test_an_expression_is_refused_rather_than_iterated():
    with pytest.raises(TypeError, match="expression"):
        Rollup.objects.filter(measure__any=Rollup.objects.values("measure"))
