"""Business time as finance counts it: weekends, holidays and the month-end close."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dashboards.calendars import Calendar, add_business_time, month_close

DAY = timedelta(days=1)
MON_FRI = Calendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_two_business_days_from_friday_afternoon_end_on_tuesday_afternoon():
    friday = at("2026-11-06T15:00")
    assert add_business_time(friday, 2 * DAY, MON_FRI) == at("2026-11-10T15:00")


def test_within_the_week_it_is_plain_time():
    monday = at("2026-11-02T09:30")
    assert add_business_time(monday, 2 * DAY, MON_FRI) == at("2026-11-04T09:30")


def test_a_start_on_saturday_counts_from_monday_morning():
    saturday = at("2026-11-07T10:00")
    assert add_business_time(saturday, DAY, MON_FRI) == at("2026-11-10T00:00")


def test_a_holiday_pushes_the_deadline_a_day():
    thanksgiving = Calendar(holidays=frozenset({date(2026, 11, 26)}))
    wednesday = at("2026-11-25T12:00")
    assert add_business_time(wednesday, DAY, MON_FRI) == at("2026-11-26T12:00")
    assert add_business_time(wednesday, DAY, thanksgiving) == at("2026-11-27T12:00")
    # Friday noon + 1 business day skips the weekend too.
    assert add_business_time(at("2026-11-27T12:00"), DAY, thanksgiving) == at("2026-11-30T12:00")


def test_business_days_follow_the_calendars_time_zone():
    paris = Calendar(zone=ZoneInfo("Europe/Paris"))
    # 22:30 UTC is 23:30 in Paris: half an hour of Friday is left there, and the other
    # half hour comes on Monday, local time (in UTC it would all fall on Friday).
    friday_late = at("2026-11-06T22:30")
    due = add_business_time(friday_late, timedelta(hours=1), paris)
    assert due == datetime(2026, 11, 9, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))


def test_month_close_is_the_end_of_the_third_business_day_of_the_next_month():
    # November 2026 closes on Thursday 3 December (1, 2, 3 are Tue, Wed, Thu).
    assert month_close(at("2026-11-30T18:00"), MON_FRI) == at("2026-12-04T00:00")
    # October work: 1 Nov is a Sunday, so the third business day is Wednesday 4 November.
    assert month_close(at("2026-10-15T09:00"), MON_FRI) == at("2026-11-05T00:00")


def test_month_close_skips_holidays_and_crosses_the_year():
    new_year = Calendar(holidays=frozenset({date(2027, 1, 1)}))
    # 1 Jan 2027 is a Friday holiday: business days 1-3 are Mon 4, Tue 5, Wed 6 January.
    assert month_close(at("2026-12-31T23:00"), new_year) == at("2027-01-07T00:00")


def test_close_day_zero_is_the_end_of_the_month_itself():
    calendar = Calendar(close_business_day=0)
    assert month_close(at("2026-11-03T10:00"), calendar) == at("2026-12-01T00:00")
