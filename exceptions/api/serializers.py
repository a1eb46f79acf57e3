from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from audit.models import AuditEntry

from ..models import ExceptionCase, Note, Replay


class ReplaySerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    flow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.CharField(source="requested_by_name")
    decided_by = serializers.CharField(source="decided_by_name")

    class Meta:
        model = Replay
        fields = [
            "id",
            "case",
            "correlation_id",
            "stage",
            "flow",
            "status",
            "reason",
            "amount",
            "replay_of_event_id",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "attempts",
            "sent_at",
            "response_status",
            "last_error",
            "finished_at",
            "result_event_id",
        ]


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name")

    class Meta:
        model = Note
        fields = ["id", "author", "body", "created_at"]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = AuditEntry
        fields = ["at", "actor", "action", "object_type", "object_id", "before", "after", "reason"]


class CaseSerializer(serializers.ModelSerializer):
    journey = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    flow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    age_seconds = serializers.SerializerMethodField()
    replays = ReplaySerializer(many=True, read_only=True)

    class Meta:
        model = ExceptionCase
        fields = [
            "id",
            "correlation_id",
            "journey",
            "stage",
            "flow",
            "kind",
            "status",
            "owner",
            "team",
            "amount",
            "currency",
            "original_amount",
            "original_currency",
            "error",
            "occurrences",
            "opened_at",
            "last_seen_at",
            "age_seconds",
            "snoozed_until",
            "resolved_at",
            "resolved_by",
            "resolution",
            "replays",
        ]

    def get_currency(self, obj: ExceptionCase) -> str:
        return settings.REPORTING_CURRENCY

    def get_error(self, obj: ExceptionCase) -> dict | None:
        if not obj.error_code and not obj.error_message:
            return None
        return {"code": obj.error_code, "message": obj.error_message}

    def get_age_seconds(self, obj: ExceptionCase) -> int:
        end = obj.resolved_at or timezone.now()
        return int((end - obj.opened_at).total_seconds())


class CaseDetailSerializer(CaseSerializer):
    notes = NoteSerializer(many=True, read_only=True)
    audit = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "notes", "audit"]

    def get_audit(self, obj: ExceptionCase) -> list[dict]:
        entries = AuditEntry.objects.filter(case_id=obj.pk).order_by("at", "id")
        return AuditEntrySerializer(entries, many=True).data


class AssignIn(serializers.Serializer):
    owner = serializers.CharField(required=False, allow_blank=True, help_text='"" unassigns')
    team = serializers.CharField(required=False, allow_blank=True, max_length=100)


class SnoozeIn(serializers.Serializer):
    until = serializers.DateTimeField(help_text="RFC 3339, in the future, at most 90 days on")


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class NoteIn(serializers.Serializer):
    body = serializers.CharField(max_length=4000)


class BulkIn(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["assign", "acknowledge", "snooze", "resolve", "ignore", "replay"]
    )
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    dry_run = serializers.BooleanField(default=False, help_text="replay only: preview")
    owner = serializers.CharField(required=False, allow_blank=True)
    team = serializers.CharField(required=False, allow_blank=True)
    until = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, max_length=4000)
