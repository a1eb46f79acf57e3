"""Business time: deadlines that skip weekends and holidays, and month-end close dates.

"Within 2 business days" is counted the way finance counts it: time passes only on the
working days of the region's calendar, in that calendar's time zone, so work approved on a
Friday afternoon is due on the Tuesday afternoon after, and a holiday pushes it a day more.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # no business deadline lies further out; stops a calendar with no work days


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()
    close_business_day: int = 3

    def working(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays


DEFAULT = Calendar()


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """The moment when ``duration`` of working-day time has passed since ``start``."""
    zone = calendar.zone
    moment = start.astimezone(UTC)
    left = duration
    day = moment.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        day_end = _midnight(day + timedelta(days=1), zone)
        if calendar.working(day):
            available = day_end - moment
            if left <= available:
                return moment + left
            left -= available
        moment = day_end
        day += timedelta(days=1)
    raise ValueError("the calendar has no working day within three years")


def nth_working_day(year: int, month: int, n: int, calendar: Calendar) -> date:
    day = date(year, month, 1)
    seen = 0
    for _ in range(MAX_DAYS):
        if calendar.working(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)
    raise ValueError("the calendar has no working day within three years")


def month_close(moment: datetime, calendar: Calendar) -> datetime:
    """When the books of ``moment``'s month close: the end of the calendar's close business
    day of the following month (or, with 0, the end of the month itself)."""
    local = moment.astimezone(calendar.zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    if calendar.close_business_day == 0:
        return _midnight(date(year, month, 1), calendar.zone)
    close_day = nth_working_day(year, month, calendar.close_business_day, calendar)
    return _midnight(close_day + timedelta(days=1), calendar.zone)


def load() -> dict[str, Calendar]:
    """Calendars by region, read from the database; "" is the default for other regions."""
    from .models import BusinessCalendar

    calendars = {}
    for row in BusinessCalendar.objects.prefetch_related("holidays"):
        calendars[row.region] = Calendar(
            zone=row.zone,
            weekdays=row.weekdays,
            holidays=frozenset(h.date for h in row.holidays.all()),
            close_business_day=row.close_business_day,
        )
    calendars.setdefault("", DEFAULT)
    return calendars


def for_region(calendars: dict[str, Calendar], region: str) -> Calendar:
    return calendars.get(region) or calendars[""]
