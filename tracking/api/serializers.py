from collections.abc import Callable

from django.db.models import Count, Max, Min, Q
from rest_framework import serializers

from .. import journeys
from ..models import Event, Span, Transaction, TransactionStatus


class ErrorInSerializer(serializers.Serializer):
    code = serializers.CharField(required=False, max_length=100)
    message = serializers.CharField(required=False, max_length=4000)


class EventInSerializer(serializers.Serializer):
    """The shape of one status callback, for the OpenAPI description.

    Requests are validated by ``tracking.ingest.events.parse_event`` (fast, per item).
    """

    event_id = serializers.CharField(max_length=200, help_text="Client-made idempotency key.")
    correlation_id = serializers.CharField(max_length=200)
    journey = serializers.CharField(
        max_length=100, required=False, help_text="Optional once the transaction exists."
    )
    stage = serializers.CharField(max_length=100)
    status = serializers.ChoiceField(choices=["started", "succeeded", "failed"])
    occurred_at = serializers.DateTimeField(help_text="RFC 3339 with offset.")
    flow = serializers.CharField(required=False, help_text="Defaults to the key's flow.")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    currency = serializers.CharField(
        min_length=3, max_length=3, required=False, help_text="Defaults to REPORTING_CURRENCY."
    )
    region = serializers.CharField(required=False)
    business_unit = serializers.CharField(required=False)
    legal_entity = serializers.CharField(required=False)
    customer = serializers.CharField(required=False)
    contract = serializers.CharField(required=False)
    project = serializers.CharField(required=False)
    invoice = serializers.CharField(required=False)
    error = ErrorInSerializer(required=False)
    attributes = serializers.DictField(required=False)
    system = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        max_length=50,
        required=False,
        help_text="The system whose state this reports (clm, billing, erp...); "
        "defaults to the flow's target system.",
    )
    contract_version = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=50,
        required=False,
        help_text="The version of the contract's terms the system holds after this event.",
    )


class IngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    detail = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = IngestErrorSerializer(many=True)


class TransactionSerializer(serializers.ModelSerializer):
    journey = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    stage = serializers.SlugRelatedField(source="current_stage", slug_field="slug", read_only=True)
    flow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(
        source="state.status", choices=TransactionStatus.choices, read_only=True
    )
    error = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "correlation_id",
            "journey",
            "stage",
            "stage_status",
            "status",
            "flow",
            "customer",
            "contract",
            "project",
            "invoice",
            "region",
            "business_unit",
            "legal_entity",
            "amount",
            "currency",
            "error",
            "started_at",
            "last_event_at",
            "completed_at",
            "next_deadline_at",
            "event_count",
        ]

    def get_error(self, obj: Transaction) -> dict | None:
        if not obj.error_code and not obj.error_message:
            return None
        return {"code": obj.error_code, "message": obj.error_message}


class EventSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    flow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "event_id",
            "stage",
            "status",
            "occurred_at",
            "received_at",
            "flow",
            "amount",
            "currency",
            "error",
            "attributes",
            "source",
            "trace_id",
            "span_id",
            "system",
            "contract_version",
        ]

    def get_error(self, obj: Event) -> dict | None:
        if not obj.error_code and not obj.error_message:
            return None
        return {"code": obj.error_code, "message": obj.error_message}


# Other apps add sections to a transaction's detail (the exception queue adds its cases,
# replays and audit entries) without tracking importing them: dependencies point one way.
DETAIL_SECTIONS: dict[str, Callable[[Transaction], object]] = {}


class TransactionDetailSerializer(TransactionSerializer):
    stages = serializers.SerializerMethodField()
    stage_amounts = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    spans = serializers.SerializerMethodField()

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "stages", "stage_amounts", "events", "spans"]

    def get_stage_amounts(self, obj: Transaction) -> dict[str, dict]:
        """Each stage's own amount, as its latest succeeded report said."""
        return {
            slug: {"amount": held[2], "currency": held[3]}
            for slug, held in (obj.stage_amounts or {}).items()
        }

    def to_representation(self, instance: Transaction) -> dict:
        data = super().to_representation(instance)
        for name, section in DETAIL_SECTIONS.items():
            data[name] = section(instance)
        return data

    def get_stages(self, obj: Transaction) -> list[dict]:
        journey = journeys.by_id(obj.journey_id)
        if journey is None:
            return []
        return [
            {
                "stage": s.slug,
                "position": s.position,
                "succeeded_at": obj.stage_times.get(s.slug),
                "expected_seconds_to_next": None
                if s.expected_duration is None
                else int(s.expected_duration.total_seconds()),
            }
            for s in journey.stages
        ]

    def get_events(self, obj: Transaction) -> list[dict]:
        events = obj.events.select_related("stage", "flow").order_by("occurred_at", "id")
        return EventSerializer(events, many=True).data

    def get_spans(self, obj: Transaction) -> dict:
        spans = Span.objects.filter(correlation_id=obj.correlation_id)
        summary = spans.aggregate(
            count=Count("id"),
            errors=Count("id", filter=Q(status_code=2)),
            traces=Count("trace_id", distinct=True),
            first_start=Min("start_time"),
            last_end=Max("end_time"),
        )
        summary["services"] = sorted(
            set(spans.exclude(service_name="").values_list("service_name", flat=True)[:50])
        )
        return summary
