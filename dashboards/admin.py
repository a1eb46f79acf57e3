from django.contrib import admin

from .models import BusinessCalendar, FxRate, Holiday, SlaPolicy


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "timezone", "working_days", "close_business_day"]
    inlines = [HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["slug", "journey", "from_stage", "to_stage", "kind", "target", "objective"]
    list_filter = ["journey", "kind", "active"]
    search_fields = ["slug", "name"]


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ["date", "currency", "rate"]
    list_filter = ["currency"]
    date_hierarchy = "date"
