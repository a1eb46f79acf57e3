"""Places on the dashboards' pages that apps above dashboards fill at start-up.

The exception queue adds its cases to the flows table, a flow's page, a transaction's
page and the overview without dashboards importing it: dependencies point one way
(tracking <- dashboards <- exceptions), as ``tracking.api.serializers.DETAIL_SECTIONS``
does for the API. An app registers in its ``AppConfig.ready()``.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from tracking.models import Flow, Transaction


@dataclass(frozen=True)
class FlowCounter:
    """A count per flow: a column of the flows table and a line of a flow's page."""

    heading: str  # "Open exceptions": the flows table's column
    noun: str  # "open exception": "3 open exceptions" on a flow's page
    counts: Callable[[], dict[str, int]]  # flow slug -> count, for every flow at once
    count: Callable[[Flow], int]  # one flow's
    link: Callable[[str], str]  # flow slug -> the list behind the count


@dataclass(frozen=True)
class Panel:
    """A section of a page: a template and what it shows."""

    template: str
    context: Callable[..., dict]


FLOW_COUNTERS: list[FlowCounter] = []
# context(request, txn): sections after the transaction's own status reports.
TRANSACTION_PANELS: list[Panel] = []
# context(request): sections below the overview's charts.
OVERVIEW_PANELS: list[Panel] = []


def flow_counts() -> list[tuple[FlowCounter, dict[str, int]]]:
    return [(counter, counter.counts()) for counter in FLOW_COUNTERS]


def one_flow_counts(flow: Flow) -> list[dict]:
    return [{"noun": c.noun, "n": c.count(flow), "href": c.link(flow.slug)} for c in FLOW_COUNTERS]


def transaction_panels(request: HttpRequest, txn: Transaction) -> list[dict]:
    return [{"template": p.template, **p.context(request, txn)} for p in TRANSACTION_PANELS]


def overview_panels(request: HttpRequest) -> list[dict]:
    return [{"template": p.template, **p.context(request)} for p in OVERVIEW_PANELS]
