"""What finance promises and how money is counted: SLA policies, calendars, FX rates."""

from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tracking.models import Journey, Stage
from tracking.models.flows import slug_validator


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)")


def validate_working_days(value: str) -> None:
    try:
        days = {int(part) for part in value.split(",") if part.strip()}
    except ValueError as exc:
        raise ValidationError("Working days are numbers 0 (Monday) to 6, comma-separated") from exc
    if not days or not days <= set(range(7)):
        raise ValidationError("Working days are numbers 0 (Monday) to 6, comma-separated")


class BusinessCalendar(models.Model):
    """Working days and holidays of one region (blank region: the default calendar)."""

    audit_type = "calendar"

    region = models.CharField(
        max_length=100, blank=True, unique=True, help_text="Blank: used for other regions."
    )
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    working_days = models.CharField(
        max_length=20,
        default="0,1,2,3,4",
        validators=[validate_working_days],
        help_text="Days counted as business time: 0 is Monday, 6 Sunday.",
    )
    close_business_day = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(20)],
        help_text=(
            "The month closes at the end of this business day of the following month "
            "(0: at the end of the month's last calendar day)."
        ),
    )

    class Meta:
        ordering = ["region"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.working_days.split(",") if part.strip())


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaKind(models.TextChoices):
    DURATION = "duration", "Within a duration"
    MONTH_CLOSE = "month_close", "Before the month's close"


class SlaPolicy(models.Model):
    """From stage A to stage B of a journey within a target, for an objective share.

    ``duration``: B within ``target`` of A, counted in business time (the region's
    calendar) when ``business_time`` is set. ``month_close``: B before the close of the
    month in which A happened (the region calendar's close business day).
    """

    slug = models.CharField(max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    from_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=SlaKind.choices, default=SlaKind.DURATION)
    target = models.DurationField(null=True, blank=True, help_text="For duration policies.")
    business_time = models.BooleanField(
        default=False, help_text="Count only working days of the region's calendar."
    )
    objective = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=0.99,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of transactions that must meet the target, e.g. 0.99.",
    )
    region = models.CharField(max_length=100, blank=True, help_text="Blank: every region.")
    business_unit = models.CharField(max_length=100, blank=True, help_text="Blank: every unit.")
    flow = models.CharField(max_length=100, blank=True, help_text="Flow slug; blank: every flow.")
    leakage = models.BooleanField(
        default=False,
        help_text="An open breach is revenue leakage (billable work never invoiced).",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["journey", "slug"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        errors = {}
        for name in ("from_stage", "to_stage"):
            stage = getattr(self, name, None)
            if stage is not None and stage.journey_id != self.journey_id:
                errors[name] = "This stage belongs to another journey."
        if (
            self.from_stage_id
            and self.to_stage_id
            and not errors
            and self.to_stage.position <= self.from_stage.position
        ):
            errors["to_stage"] = "The end stage must come after the start stage."
        if self.kind == SlaKind.DURATION and not self.target:
            errors["target"] = "A duration policy needs a target."
        if errors:
            raise ValidationError(errors)


class FxRate(models.Model):
    """Units of the reporting currency for one unit of ``currency``, on ``date``."""

    date = models.DateField()
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        ordering = ["-date", "currency"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="fxrate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fxrate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.currency} {self.rate}"
