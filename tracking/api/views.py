import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import counters, ledger
from ..filtersets import TransactionFilterSet
from ..ingest import group_commit
from ..ingest.events import Invalid, default_system, parse_event
from ..models import Transaction
from .auth import CanIngest, CanRead, FlowKeyAuthentication
from .pagination import Cursor
from .parsers import JSONParser
from .serializers import (
    EventInSerializer,
    IngestResultSerializer,
    TransactionDetailSerializer,
    TransactionSerializer,
)

log = logging.getLogger(__name__)


class EventIngestView(APIView):
    """Report status callbacks: one event object, or a list of up to 1,000."""

    authentication_classes = [FlowKeyAuthentication]
    permission_classes = [CanIngest]
    parser_classes = [JSONParser]

    @extend_schema(
        request=EventInSerializer(many=True),
        responses={202: IngestResultSerializer},
        description=(
            "Idempotent by event_id: the same event again counts as a duplicate; the same "
            "event_id with other content is an error for that item. Items that validate are "
            "recorded even when others in the batch do not."
        ),
    )
    def post(self, request):
        limit = settings.INGEST_MAX_BODY_BYTES
        if _declared_length(request) > limit:
            return Response(
                {"detail": f"The body exceeds the {limit}-byte limit; send smaller batches."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        data = request.data
        if not isinstance(data, list | dict):
            raise ParseError("The body must be an event object or a list of them.")
        items = data if isinstance(data, list) else [data]
        if not items or items == [{}]:
            raise ParseError("The body holds no event.")
        if len(items) > settings.INGEST_MAX_EVENTS:
            raise ParseError(f"At most {settings.INGEST_MAX_EVENTS} events per request.")

        flow = request.auth.flow
        flow_system = default_system(flow.target_system)
        errors: list[dict] = []
        valid, positions = [], []
        for index, item in enumerate(items):
            try:
                valid.append(parse_event(item, flow.id, flow.slug, flow_system))
                positions.append(index)
            except Invalid as exc:
                errors.append({"index": index, "event_id": _event_id(item), "detail": str(exc)})

        accepted = duplicates = 0
        if valid:
            result = group_commit.record(valid)
            for index, event, outcome in zip(positions, valid, result.outcomes, strict=True):
                if outcome.kind == ledger.DUPLICATE:
                    duplicates += 1
                elif outcome.kind == ledger.ERROR:
                    errors.append(
                        {"index": index, "event_id": event.event_id, "detail": outcome.detail}
                    )
                else:
                    accepted += 1
        errors.sort(key=lambda e: e["index"])
        counters.count_events(flow.slug, accepted, duplicates, len(errors))
        body = {"accepted": accepted, "duplicates": duplicates, "errors": errors}
        return Response(body, status=status.HTTP_202_ACCEPTED)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _event_id(item: object) -> str | None:
    value = item.get("event_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


class TransactionListView(generics.ListAPIView):
    """The ledger, newest first, filtered like the transactions page."""

    permission_classes = [CanRead]
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilterSet
    pagination_class = Cursor
    queryset = Transaction.objects.select_related("journey", "current_stage", "flow", "state")


@extend_schema(parameters=[OpenApiParameter("correlation_id", str, OpenApiParameter.PATH)])
class TransactionDetailView(generics.RetrieveAPIView):
    """One transaction with its stages, events and a summary of its spans."""

    permission_classes = [CanRead]
    serializer_class = TransactionDetailSerializer
    queryset = Transaction.objects.select_related("journey", "current_stage", "flow", "state")
    lookup_field = "correlation_id"
