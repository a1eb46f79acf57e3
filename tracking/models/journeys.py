from django.db import models

from .flows import slug_validator


class Journey(models.Model):
    """A business process: an ordered list of stages (contract_activation, billing, ...)."""

    slug = models.CharField(max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Stage(models.Model):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    slug = models.CharField(max_length=100, validators=[slug_validator])
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField()
    expected_duration = models.DurationField(
        null=True,
        blank=True,
        help_text="How long after this stage succeeds the next one is expected to succeed.",
    )

    class Meta:
        ordering = ["journey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "slug"], name="stage_unique_slug"),
            models.UniqueConstraint(fields=["journey", "position"], name="stage_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.journey.slug}.{self.slug}"
