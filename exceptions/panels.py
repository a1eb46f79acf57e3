"""The exception queue's sections of the dashboards' pages (``dashboards.extensions``):
open cases per flow, a transaction's cases, replays and audit trail, and the digest form."""

from urllib.parse import urlencode

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse

from audit.models import AuditEntry
from dashboards.extensions import FlowCounter, Panel
from tracking.models import Flow, Transaction
from tracking.roles import user_scopes

from .models import ACTIVE_STATUSES, DigestSubscription, ExceptionCase, Replay


def open_cases_by_flow() -> dict[str, int]:
    return dict(
        ExceptionCase.objects.filter(status__in=ACTIVE_STATUSES)
        .values_list("flow__slug")
        .annotate(n=Count("id"))
        .order_by()
    )


def open_cases_of(flow: Flow) -> int:
    return ExceptionCase.objects.filter(flow=flow, status__in=ACTIVE_STATUSES).count()


def queue_of(flow_slug: str) -> str:
    return f"{reverse('exceptions:queue')}?{urlencode({'flow': flow_slug})}"


def of_transaction(request: HttpRequest, txn: Transaction) -> dict:
    return {
        "cases": ExceptionCase.objects.filter(transaction=txn)
        .select_related("stage", "owner")
        .order_by("-id"),
        "replays": Replay.objects.filter(transaction=txn)
        .select_related("stage")
        .order_by("-requested_at"),
        "entries": AuditEntry.objects.filter(correlation_id=txn.correlation_id).order_by(
            "-at", "-id"
        )[:200],
        "can_operate": "operate" in user_scopes(request.user),
    }


def digest_form(request: HttpRequest) -> dict:
    return {"subscribed": DigestSubscription.objects.filter(user=request.user).exists()}


OPEN_CASES = FlowCounter(
    heading="Open exceptions",
    noun="open exception",
    counts=open_cases_by_flow,
    count=open_cases_of,
    link=queue_of,
)
TRANSACTION = Panel("exceptions/panels/transaction.html", of_transaction)
DIGEST_FORM = Panel("exceptions/panels/digest_form.html", digest_form)
