from django.contrib import admin

from audit.admin import AuditedAdmin

from .models import BusinessCalendar, FxRate, Holiday, SlaPolicy


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(AuditedAdmin):
    list_display = ["name", "region", "timezone", "working_days", "close_business_day"]
    inlines = [HolidayInline]

    def audit_snapshot(self, obj) -> dict:
        # Holidays are edited on the calendar's page: a day added or removed is part of the
        # calendar's change, in the same entry.
        days = obj.holidays.order_by("date").values_list("date", "name")
        return {**super().audit_snapshot(obj), "holidays": [f"{d} {n}".strip() for d, n in days]}


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin):
    list_display = ["slug", "journey", "from_stage", "to_stage", "kind", "target", "objective"]
    list_filter = ["journey", "kind", "active"]
    search_fields = ["slug", "name"]


@admin.register(FxRate)
class FxRateAdmin(AuditedAdmin):
    list_display = ["date", "currency", "rate"]
    list_filter = ["currency"]
    date_hierarchy = "date"
