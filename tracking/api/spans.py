"""A transaction's spans, in the order a waterfall reads them: by start, then by id."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound

from ..models import Span, Transaction
from .auth import CanRead
from .pagination import Cursor

# OTLP's SpanKind and Status.code, stored as their wire numbers.
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUSES = ("unset", "ok", "error")


def _word(words: tuple[str, ...], number: int) -> str:
    # Ingest refuses numbers past the enums, but a row written by other means must not
    # break the listing.
    return words[number] if 0 <= number < len(words) else words[0]


class SpanSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service_name", read_only=True)
    kind = serializers.SerializerMethodField()
    start = serializers.DateTimeField(source="start_time", read_only=True)
    end = serializers.DateTimeField(source="end_time", read_only=True)
    duration_ms = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    attributes = serializers.DictField(read_only=True)

    class Meta:
        model = Span
        fields = [
            "trace_id",
            "span_id",
            "parent_span_id",
            "name",
            "service",
            "kind",
            "start",
            "end",
            "duration_ms",
            "status",
            "status_message",
            "attributes",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": list(KINDS)})
    def get_kind(self, span: Span) -> str:
        return _word(KINDS, span.kind)

    @extend_schema_field({"type": "string", "enum": list(STATUSES)})
    def get_status(self, span: Span) -> str:
        return _word(STATUSES, span.status_code)

    def get_duration_ms(self, span: Span) -> float:
        return (span.end_time - span.start_time).total_seconds() * 1000


class SpanCursor(Cursor):
    # Earliest first so that the pages read as a waterfall; id breaks ties between spans
    # that started in the same microsecond.
    ordering = ("start_time", "id")


@extend_schema(
    parameters=[OpenApiParameter("correlation_id", str, OpenApiParameter.PATH)],
    description=(
        "The spans linked to the transaction (by their correlation attribute, or by sharing "
        "a trace with a span that has one), earliest start first. `kind` and `status` are "
        "OTLP's SpanKind and status code as lowercase words."
    ),
)
class TransactionSpansView(generics.ListAPIView):
    """One transaction's spans, cursor-paginated."""

    permission_classes = [CanRead]
    serializer_class = SpanSerializer
    pagination_class = SpanCursor
    filter_backends: list = []

    def get_queryset(self):
        correlation_id = self.kwargs["correlation_id"]
        if not Transaction.objects.filter(correlation_id=correlation_id).exists():
            raise NotFound("No transaction has this correlation ID.")
        # The span_correlation index is partial (correlation_id <> ''); a transaction's ID is
        # never blank, so the filter below is served by it in start order.
        return Span.objects.filter(correlation_id=correlation_id)
