"""Alerts: where they go (channels), when they fire (rules), and the outbox that delivers them.

An alert is written as an ``Alert`` row in the same database transaction as the change that
caused it (a case opened or resolved, a rule firing or clearing), with ``processed_at``
unset; a worker claims it, sends it and logs every attempt as a ``Notification``. Its
``dedup_key`` is unique, so a change seen twice makes one alert, never two.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from tracking.models import Flow, Journey

from .cases import CaseKind


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack (incoming webhook)"
    WEBHOOK = "webhook", "Webhook (signed JSON)"


class Channel(models.Model):
    """One destination of a team's alerts: an email address, a Slack webhook, a URL."""

    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    team = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=100, blank=True)
    # Validated per kind by ``exceptions.transports`` (address, URL, signing secret).
    config = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True, help_text="Why delivery stopped, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_kind_display()} {self.target}"

    @property
    def target(self) -> str:
        """Where it sends, safe to show: an address, or a URL's host (never its secret path)."""
        from ..transports import transport_for

        return transport_for(self).describe()


class RuleKind(models.TextChoices):
    NEW_EXCEPTION = "new_exception", "A new exception"
    REVENUE_AT_RISK = "revenue_at_risk", "Revenue at risk above a threshold"
    FAILURE_RATE = "failure_rate", "Failure rate above a threshold"
    STUCK_COUNT = "stuck_count", "Stuck transactions above a threshold"
    BURN_RATE = "burn_rate", "SLA error budget burning too fast"


class AlertRule(models.Model):
    """When to alert, and whom: the owning team's channels by default, or those named."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    # Filters; blank matches everything.
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    team = models.CharField(max_length=100, blank=True, help_text="Only cases of this team.")
    case_kind = models.CharField(
        max_length=20,
        blank=True,
        choices=CaseKind.choices,
        help_text="Only cases of this kind: failed, stuck, or a reconciliation break's.",
    )
    min_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    threshold = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Amount, rate (0.05 = 5%) or count, by kind.",
    )
    policy = models.ForeignKey(
        "dashboards.SlaPolicy", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    remind_every = models.DurationField(
        null=True,
        blank=True,
        validators=[MinValueValidator(timedelta(minutes=1))],
        help_text="Remind while the cause stays; blank: never.",
    )
    channels = models.ManyToManyField(
        Channel, blank=True, help_text="Blank: every channel of the owning team."
    )
    notify_team = models.CharField(
        max_length=100,
        blank=True,
        help_text="Metric rules: the team to alert (else the flow's owner team, else the default).",
    )
    window = models.DurationField(
        null=True, blank=True, help_text="Failure rate: the period it is measured over (1 h)."
    )
    severity = models.CharField(
        max_length=6,
        choices=[("page", "Page (fast burn)"), ("ticket", "Ticket (slow burn)")],
        default="page",
        help_text="Burn-rate rules: which multi-window thresholds apply.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleState(models.Model):
    """Where a metric rule stands: firing since when (one episode per firing), last value."""

    rule = models.OneToOneField(
        AlertRule, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    firing_since = models.DateTimeField(null=True, blank=True)
    episode = models.PositiveIntegerField(default=0)
    value = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.rule_id}: {'firing' if self.firing_since else 'ok'}"


class AlertKind(models.TextChoices):
    FIRING = "firing", "Firing"
    REMINDER = "reminder", "Reminder"
    RESOLVED = "resolved", "Resolved"
    TEST = "test", "Test"


class Alert(models.Model):
    """One message to one channel: the outbox row, written with the change that caused it."""

    dedup_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    rule = models.ForeignKey(AlertRule, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="alerts")
    case = models.ForeignKey(
        "c2c_exceptions.ExceptionCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
    )
    subject = models.CharField(max_length=300)
    # What the message says, built when the alert is written: amount, stage, error, owner...
    facts = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, blank=True)  # sent, failed, silenced, skipped
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sender reads only what is still to send: a small index, whatever the history.
            models.Index(
                fields=["next_attempt_at"],
                name="alert_unsent",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["-created_at"], name="alert_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} -> {self.channel_id}"


class Notification(models.Model):
    """One attempt to deliver an alert: when, the outcome, and the error if any."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="attempts_made")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    at = models.DateTimeField()
    ok = models.BooleanField()
    permanent = models.BooleanField(default=False)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["channel", "-at"], name="notification_channel")]

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'failed'} {self.alert_id} at {self.at:%Y-%m-%d %H:%M}"


class DigestSubscription(models.Model):
    """A finance user who wants the daily digest email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    last_sent_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"digest for {self.user_id}"


class MaintenanceWindow(models.Model):
    """While a flow is being worked on, its alerts are silenced (and logged as such)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="maintenance")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.flow_id} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"
