"""The exception queue's part of a transaction's detail (``GET /api/v1/transactions/<id>``)."""

from audit.models import AuditEntry

from ..models import ExceptionCase, Replay
from .serializers import AuditEntrySerializer, CaseSerializer, ReplaySerializer


def cases(txn) -> list[dict]:
    rows = (
        ExceptionCase.objects.filter(transaction=txn)
        .select_related("journey", "stage", "flow", "owner")
        .prefetch_related("replays__stage", "replays__flow")
        .order_by("opened_at", "id")
    )
    return CaseSerializer(rows, many=True).data


def replays(txn) -> list[dict]:
    """Every replay of the transaction, oldest first, each naming the event it re-runs."""
    rows = Replay.objects.filter(transaction=txn).select_related("stage", "flow")
    return ReplaySerializer(rows.order_by("requested_at"), many=True).data


def audit(txn) -> list[dict]:
    rows = AuditEntry.objects.filter(correlation_id=txn.correlation_id).order_by("at", "id")
    return AuditEntrySerializer(rows[:500], many=True).data
