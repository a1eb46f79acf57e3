from django.core.validators import RegexValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

SCOPES = ("ingest", "read", "operate")

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$", "Use lowercase letters, digits, '-' and '_' only."
)


class Flow(models.Model):
    """One integration flow between two systems (e.g. clm-to-erp-customer)."""

    slug = models.CharField(max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200, blank=True)
    source_system = models.CharField(max_length=100, blank=True)
    target_system = models.CharField(max_length=100, blank=True)
    owner_team = models.CharField(max_length=100, blank=True)
    replay_url = models.URLField(max_length=500, blank=True)
    # Kept readable because replays are signed with it (HMAC); never rendered or logged.
    replay_secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class FlowAPIKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        # Every authenticated request needs the flow: fetch it in the same query.
        return super().get_usable_keys().select_related("flow")


class FlowAPIKey(AbstractAPIKey):
    """A machine client's key. Stored hashed by djangorestframework-api-key; one flow each."""

    # The audit log names a key by its prefix: the primary key holds the hash.
    audit_type = "api_key"
    audit_id_field = "prefix"

    objects = FlowAPIKeyManager()

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list, help_text="Any of: ingest, read, operate.")
    # Written at most about once a minute per key (tracking.keys.touch): ingest is hot.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "flow API key"
        verbose_name_plural = "flow API keys"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
