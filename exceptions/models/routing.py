from django.conf import settings
from django.db import models

from tracking.models import Flow, Journey
from tracking.models.transactions import MONEY


class OwnershipRule(models.Model):
    """Routes new cases to a team (and optionally a person). The first enabled match wins.

    Empty conditions match anything. With no rule matching, a case goes to its flow's owner
    team, or ``EXCEPTIONS_DEFAULT_TEAM`` when the flow names none.
    """

    audit_type = "rule"  # as the audit log has always named it

    position = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    stage = models.CharField(max_length=100, blank=True, help_text="A stage slug.")
    region = models.CharField(max_length=100, blank=True)
    business_unit = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    min_amount = models.DecimalField(
        null=True, blank=True, help_text="In the reporting currency.", **MONEY
    )
    team = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Optional: a person to own the case as well.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} -> {self.team}"


class TeamMember(models.Model):
    """Who is in which team ("my team" in the queue). A person may be in several."""

    team = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="c2c_teams"
    )

    class Meta:
        ordering = ["team", "user_id"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_member_once")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team}"
