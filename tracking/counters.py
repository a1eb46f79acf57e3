"""Prometheus counters of what ingest accepted, per flow (served by c2c_ops' /metrics).

Defined here because ``tracking`` may not import the project package. prometheus_client must
first be imported after settings have set PROMETHEUS_MULTIPROC_DIR (c2c_ops/settings.py):
only then does each gunicorn worker write its counts where /metrics adds them all up.
Nothing in ``tracking`` imports this module before Django is set up.

Requests refused as a whole (401, 403, 413, a body that does not parse, 503) count nothing
here: no item of theirs was looked at, and the whole-request outcome is in the HTTP
histogram's ``status`` label.
"""

from prometheus_client import Counter, Histogram

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"

SPANS = Counter(
    "c2c_ingest_spans",
    "Spans received on /v1/traces, by flow and outcome (a duplicate was stored already).",
    ["flow", "outcome"],
)
EVENTS = Counter(
    "c2c_ingest_events",
    "Events received on /api/v1/events, by flow and outcome.",
    ["flow", "outcome"],
)


# Requests to /api/v1/events whose events one transaction wrote (group commit): 1 when
# callbacks come one at a time, more under load. How much the commits are shared.
SHARED_COMMITS = Histogram(
    "c2c_ingest_commit_requests",
    "Requests to /api/v1/events written in one database transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def _count(counter: Counter, flow: str, accepted: int, duplicates: int, rejected: int) -> None:
    for outcome, amount in ((ACCEPTED, accepted), (DUPLICATE, duplicates), (REJECTED, rejected)):
        # Every outcome's series exists from a flow's first request, so rate() and absent
        # rejections read as 0 rather than no data.
        counter.labels(flow=flow, outcome=outcome).inc(amount)


def count_spans(flow: str, accepted: int, duplicates: int, rejected: int) -> None:
    _count(SPANS, flow, accepted, duplicates, rejected)


def count_events(flow: str, accepted: int, duplicates: int, rejected: int) -> None:
    _count(EVENTS, flow, accepted, duplicates, rejected)


def count_shared_commit(requests: int) -> None:
    SHARED_COMMITS.observe(requests)
