"""SLA clocks count working time: weekends, holidays, time zones and daylight-saving changes.

Every moment here is fixed; nothing reads the wall clock. 2026's changes: the EU goes to summer
time on Sunday 29 March and back on Sunday 25 October (Bucharest at 03:00/04:00 local, Warsaw
at 02:00/03:00), the US on Sunday 8 March and Sunday 1 November (02:00), New Zealand back on
Sunday 5 April and forward on Sunday 27 September; Japan has no daylight-saving time.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sonda.core.errors import ValidationFailed
from sonda.loop.business_hours import (
    BusinessCalendar,
    Opening,
    SpecialDay,
    add_business_time,
    business_time_between,
    is_working_time,
    next_opening,
)

NINE_TO_FIVE = [{"start": "09:00", "end": "17:00"}]
WEEKDAYS_ONLY = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), NINE_TO_FIVE)
ROUND_THE_CLOCK = {
    day: [{"start": "00:00", "end": "24:00"}]
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def office(time_zone: str, **extra: object) -> BusinessCalendar:
    return BusinessCalendar.from_json({"time_zone": time_zone, "hours": WEEKDAYS_ONLY, **extra})


def at(
    time_zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(time_zone))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def assert_same_instant_and_wall_time(actual: datetime, expected: datetime) -> None:
    assert actual == expected
    local = actual.astimezone(expected.tzinfo)
    assert local.replace(tzinfo=None) == expected.replace(tzinfo=None)
    assert local.utcoffset() == expected.utcoffset()


# --- weekends, evenings, holidays ---------------------------------------------------------


def test_a_deadline_skips_the_weekend():
    bucharest = office("Europe/Bucharest")
    thursday_afternoon = at("Europe/Bucharest", 2026, 1, 8, 15, 0)

    deadline = add_business_time(bucharest, thursday_afternoon, hours(16))

    assert_same_instant_and_wall_time(deadline, at("Europe/Bucharest", 2026, 1, 12, 15, 0))


def test_a_case_opened_on_friday_evening_counts_from_monday_morning():
    bucharest = office("Europe/Bucharest")
    friday_evening = at("Europe/Bucharest", 2026, 1, 9, 18, 30)

    assert add_business_time(bucharest, friday_evening, hours(1)) == at(
        "Europe/Bucharest", 2026, 1, 12, 10, 0
    )
    assert next_opening(bucharest, friday_evening) == at("Europe/Bucharest", 2026, 1, 12, 9, 0)
    assert business_time_between(
        bucharest, friday_evening, at("Europe/Bucharest", 2026, 1, 12, 9, 0)
    ) == timedelta(0)


def test_a_monday_holiday_is_not_working_time():
    # Whit Monday and Children's Day fall together on 1 June 2026 in Romania.
    bucharest = office("Europe/Bucharest", holidays=["2026-06-01"])
    friday_afternoon = at("Europe/Bucharest", 2026, 5, 29, 16, 0)

    deadline = add_business_time(bucharest, friday_afternoon, hours(2))

    assert deadline == at("Europe/Bucharest", 2026, 6, 2, 10, 0)
    assert not is_working_time(bucharest, at("Europe/Bucharest", 2026, 6, 1, 11, 0))
    assert business_time_between(bucharest, friday_afternoon, deadline) == hours(2)


def test_a_half_day_and_a_saturday_worked_to_bridge_a_holiday():
    bucharest = office(
        "Europe/Bucharest",
        holidays=["2026-12-25"],
        special_days=[
            {"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]},
            {"day": "2026-12-19", "hours": [{"start": "10:00", "end": "14:00"}]},
        ],
    )

    # Thursday 24 December closes at 13:00, Friday is Christmas: on to Monday.
    christmas_eve = at("Europe/Bucharest", 2026, 12, 24, 12, 0)
    assert add_business_time(bucharest, christmas_eve, hours(2)) == at(
        "Europe/Bucharest", 2026, 12, 28, 10, 0
    )
    # Friday 18 December 16:00 + 2 hours runs into the Saturday worked that week.
    friday = at("Europe/Bucharest", 2026, 12, 18, 16, 0)
    assert add_business_time(bucharest, friday, hours(2)) == at(
        "Europe/Bucharest", 2026, 12, 19, 11, 0
    )
    assert business_time_between(
        bucharest, at("Europe/Bucharest", 2026, 12, 18), at("Europe/Bucharest", 2026, 12, 29)
    ) == hours(8 + 4 + 8 + 8 + 8 + 4 + 0 + 8)


def test_a_deadline_that_uses_up_the_day_is_its_closing_time():
    bucharest = office("Europe/Bucharest")
    friday_morning = at("Europe/Bucharest", 2026, 1, 9, 9, 0)

    deadline = add_business_time(bucharest, friday_morning, hours(8))

    assert deadline == at("Europe/Bucharest", 2026, 1, 9, 17, 0)
    assert not is_working_time(bucharest, deadline)
    assert is_working_time(bucharest, deadline - timedelta(microseconds=1))


def test_a_zero_duration_is_the_start_in_working_hours_and_the_next_opening_outside():
    bucharest = office("Europe/Bucharest")
    during = at("Europe/Bucharest", 2026, 1, 7, 11, 17, 5)
    closing = at("Europe/Bucharest", 2026, 1, 7, 17, 0)

    assert add_business_time(bucharest, during, timedelta(0)) == during
    assert add_business_time(bucharest, closing, timedelta(0)) == at(
        "Europe/Bucharest", 2026, 1, 8, 9, 0
    )
    assert next_opening(bucharest, during) == during


def test_a_multi_week_duration():
    tokyo = office("Asia/Tokyo", holidays=["2026-02-11", "2026-02-23"])
    monday = at("Asia/Tokyo", 2026, 1, 5, 9, 0)

    # Eight weeks of 40 hours, with two holidays on the way: two more days at the end.
    deadline = add_business_time(tokyo, monday, hours(8 * 40))

    assert deadline == at("Asia/Tokyo", 2026, 3, 3, 17, 0)
    assert business_time_between(tokyo, monday, deadline) == hours(320)


def test_a_year_of_working_time_is_reached_without_walking_minute_by_minute():
    tokyo = office("Asia/Tokyo")
    monday = at("Asia/Tokyo", 2026, 1, 5, 9, 0)

    # 8,760 hours are 219 weeks of 40 hours: Friday of the 219th week, at closing time.
    deadline = add_business_time(tokyo, monday, timedelta(days=365))

    assert deadline == monday + timedelta(weeks=218, days=4, hours=8)
    assert business_time_between(tokyo, monday, deadline) == timedelta(days=365)


# --- split hours, Saturdays, night shifts -------------------------------------------------


def test_split_working_hours_leave_the_lunch_break_out():
    warsaw = BusinessCalendar.from_json(
        {
            "time_zone": "Europe/Warsaw",
            "hours": {
                "mon": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}],
                "tue": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
            },
        }
    )

    assert add_business_time(warsaw, at("Europe/Warsaw", 2026, 1, 5, 11, 30), hours(1)) == at(
        "Europe/Warsaw", 2026, 1, 5, 13, 30
    )
    assert next_opening(warsaw, at("Europe/Warsaw", 2026, 1, 5, 12, 15)) == at(
        "Europe/Warsaw", 2026, 1, 5, 13, 0
    )
    assert not is_working_time(warsaw, at("Europe/Warsaw", 2026, 1, 5, 12, 30))
    assert business_time_between(
        warsaw, at("Europe/Warsaw", 2026, 1, 5, 11, 0), at("Europe/Warsaw", 2026, 1, 5, 14, 0)
    ) == hours(2)
    # Tuesday afternoon runs on to next Monday morning.
    assert add_business_time(warsaw, at("Europe/Warsaw", 2026, 1, 6, 16, 0), hours(2)) == at(
        "Europe/Warsaw", 2026, 1, 12, 9, 0
    )


def test_saturday_morning_hours():
    branch = BusinessCalendar.from_json(
        {
            "time_zone": "Europe/Bucharest",
            "hours": {**WEEKDAYS_ONLY, "sat": [{"start": "09:00", "end": "13:00"}]},
        }
    )
    friday = at("Europe/Bucharest", 2026, 1, 9, 16, 0)

    assert add_business_time(branch, friday, hours(2)) == at("Europe/Bucharest", 2026, 1, 10, 10)
    assert add_business_time(branch, friday, hours(6)) == at("Europe/Bucharest", 2026, 1, 12, 10)


def test_a_night_shift_runs_through_midnight():
    night_desk = BusinessCalendar.from_json(
        {
            "time_zone": "Europe/Warsaw",
            "hours": {
                "mon": [{"start": "22:00", "end": "24:00"}],
                "tue": [{"start": "00:00", "end": "06:00"}],
            },
        }
    )
    monday_night = at("Europe/Warsaw", 2026, 1, 5, 23, 0)

    assert is_working_time(night_desk, at("Europe/Warsaw", 2026, 1, 6, 0, 0))
    assert add_business_time(night_desk, monday_night, hours(3)) == at(
        "Europe/Warsaw", 2026, 1, 6, 2, 0
    )
    assert add_business_time(night_desk, monday_night, hours(1)) == at(
        "Europe/Warsaw", 2026, 1, 6, 0, 0
    )


# --- daylight-saving changes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "friday", "monday", "summer_to_winter"),
    [
        ("Europe/Bucharest", date(2026, 3, 27), date(2026, 3, 30), False),
        ("Europe/Bucharest", date(2026, 10, 23), date(2026, 10, 26), True),
        ("Europe/Warsaw", date(2026, 3, 27), date(2026, 3, 30), False),
        ("Europe/Warsaw", date(2026, 10, 23), date(2026, 10, 26), True),
        ("America/New_York", date(2026, 3, 6), date(2026, 3, 9), False),
        ("America/New_York", date(2026, 10, 30), date(2026, 11, 2), True),
        ("Pacific/Auckland", date(2026, 4, 3), date(2026, 4, 6), True),
        ("Pacific/Auckland", date(2026, 9, 25), date(2026, 9, 28), False),
    ],
)
def test_a_deadline_across_a_clock_change_lands_on_the_local_wall_time(
    time_zone, friday, monday, summer_to_winter
):
    calendar = office(time_zone)
    start = datetime.combine(friday, time(16), tzinfo=ZoneInfo(time_zone))

    deadline = add_business_time(calendar, start, hours(2))

    expected = datetime.combine(monday, time(10), tzinfo=ZoneInfo(time_zone))
    assert_same_instant_and_wall_time(deadline, expected)
    # The weekend in between was an hour longer or shorter; working time is not.
    weekend = deadline - start.astimezone(UTC)  # in UTC: within one zone Python subtracts wall time
    assert weekend == hours(66 + (1 if summer_to_winter else -1))
    assert business_time_between(calendar, start, deadline) == hours(2)
    # Monday's first working hour is one hour, whatever the offset did over the weekend.
    assert business_time_between(
        calendar, datetime.combine(monday, time(0), tzinfo=ZoneInfo(time_zone)), deadline
    ) == hours(1)


def test_a_working_day_on_the_day_of_the_change_is_eight_hours():
    every_day = BusinessCalendar.from_json(
        {
            "time_zone": "America/New_York",
            "hours": {**WEEKDAYS_ONLY, "sun": NINE_TO_FIVE},
        }
    )
    for sunday in (date(2026, 3, 8), date(2026, 11, 1)):
        morning = datetime.combine(sunday, time(9), tzinfo=ZoneInfo("America/New_York"))
        assert add_business_time(every_day, morning, hours(8)) == datetime.combine(
            sunday, time(17), tzinfo=ZoneInfo("America/New_York")
        )


def test_a_round_the_clock_day_is_23_hours_in_march_and_25_in_october():
    call_centre = BusinessCalendar.from_json(
        {"time_zone": "Europe/Bucharest", "hours": ROUND_THE_CLOCK}
    )

    for sunday, length in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25)):
        midnight = datetime.combine(sunday, time(0), tzinfo=ZoneInfo("Europe/Bucharest"))
        next_midnight = datetime.combine(
            sunday + timedelta(days=1), time(0), tzinfo=ZoneInfo("Europe/Bucharest")
        )
        assert business_time_between(call_centre, midnight, next_midnight) == hours(length)
        assert add_business_time(call_centre, midnight, hours(length)) == next_midnight

    # 02:00 + 2 hours of real time on the spring morning is 05:00 on the wall.
    spring_night = at("Europe/Bucharest", 2026, 3, 29, 2, 0)
    assert_same_instant_and_wall_time(
        add_business_time(call_centre, spring_night, hours(2)),
        at("Europe/Bucharest", 2026, 3, 29, 5, 0),
    )


def test_an_interval_containing_the_skipped_hour_is_an_hour_shorter():
    # Warsaw skips 02:00–03:00 on 29 March and repeats it on 25 October.
    sunday_night = BusinessCalendar.from_json(
        {"time_zone": "Europe/Warsaw", "hours": {"sun": [{"start": "01:00", "end": "05:00"}]}}
    )

    def worked_on(day: date) -> timedelta:
        zone = ZoneInfo("Europe/Warsaw")
        return business_time_between(
            sunday_night,
            datetime.combine(day, time(0), tzinfo=zone),
            datetime.combine(day, time(12), tzinfo=zone),
        )

    assert worked_on(date(2026, 3, 22)) == hours(4)
    assert worked_on(date(2026, 3, 29)) == hours(3)
    assert worked_on(date(2026, 10, 25)) == hours(5)


def test_a_skipped_opening_time_opens_when_the_clocks_jump():
    warsaw = BusinessCalendar.from_json(
        {"time_zone": "Europe/Warsaw", "hours": {"sun": [{"start": "02:30", "end": "06:00"}]}}
    )
    saturday = at("Europe/Warsaw", 2026, 3, 28, 12, 0)

    opening = next_opening(warsaw, saturday)

    # 02:30 does not exist that night: the desk opens at the jump, 01:00 UTC = 03:00 CEST.
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert opening.astimezone(ZoneInfo("Europe/Warsaw")).replace(tzinfo=None) == datetime(  # noqa: DTZ001
        2026, 3, 29, 3, 0
    )
    assert business_time_between(warsaw, saturday, at("Europe/Warsaw", 2026, 3, 30)) == hours(3)


def test_a_repeated_opening_time_is_its_first_occurrence():
    warsaw = BusinessCalendar.from_json(
        {"time_zone": "Europe/Warsaw", "hours": {"sun": [{"start": "02:30", "end": "06:00"}]}}
    )

    opening = next_opening(warsaw, at("Europe/Warsaw", 2026, 10, 24, 12, 0))

    # 02:30 summer time (00:30 UTC), and the repeated half hour after it counts too.
    assert opening == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert add_business_time(warsaw, opening, hours(4.5)) == at("Europe/Warsaw", 2026, 10, 25, 6)


# --- time zones far from UTC --------------------------------------------------------------


def test_tokyo_works_on_its_own_calendar_not_on_utc():
    tokyo = office("Asia/Tokyo")

    # Friday 23:00 UTC is Saturday 08:00 in Tokyo; Sunday 23:30 UTC is Monday 08:30.
    assert not is_working_time(tokyo, datetime(2026, 1, 9, 23, 0, tzinfo=UTC))
    assert not is_working_time(tokyo, datetime(2026, 1, 11, 23, 30, tzinfo=UTC))
    assert is_working_time(tokyo, datetime(2026, 1, 12, 0, 30, tzinfo=UTC))

    friday_afternoon_utc = datetime(2026, 1, 9, 7, 30, tzinfo=UTC)  # 16:30 in Tokyo
    deadline = add_business_time(tokyo, friday_afternoon_utc, hours(1))
    assert deadline == datetime(2026, 1, 12, 0, 30, tzinfo=UTC)
    assert deadline.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9


def test_auckland_starts_its_week_on_the_previous_utc_day():
    auckland = office("Pacific/Auckland")

    # Sunday 20:30 UTC in January is Monday 09:30 NZDT.
    sunday_utc = datetime(2026, 1, 11, 20, 30, tzinfo=UTC)
    assert is_working_time(auckland, sunday_utc)
    assert next_opening(auckland, datetime(2026, 1, 11, 12, 0, tzinfo=UTC)) == datetime(
        2026, 1, 11, 20, 0, tzinfo=UTC
    )
    assert business_time_between(
        auckland, datetime(2026, 1, 11, 0, 0, tzinfo=UTC), datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    ) == hours(4)


# --- time left and overdue ----------------------------------------------------------------


def test_time_left_turns_negative_once_the_deadline_has_passed():
    bucharest = office("Europe/Bucharest")
    deadline = at("Europe/Bucharest", 2026, 1, 12, 11, 0)

    assert business_time_between(
        bucharest, at("Europe/Bucharest", 2026, 1, 9, 16), deadline
    ) == hours(3)
    assert business_time_between(
        bucharest, deadline, at("Europe/Bucharest", 2026, 1, 13, 10)
    ) == hours(7)
    assert business_time_between(
        bucharest, at("Europe/Bucharest", 2026, 1, 13, 10), deadline
    ) == -hours(7)
    assert business_time_between(
        bucharest, at("Europe/Bucharest", 2026, 1, 10, 10), at("Europe/Bucharest", 2026, 1, 11, 20)
    ) == timedelta(0)


# --- storage ------------------------------------------------------------------------------


def test_the_calendar_round_trips_through_json():
    stored = {
        "time_zone": "Europe/Warsaw",
        "hours": {
            "mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
            "fri": [{"start": "08:00", "end": "15:30"}],
            "sat": [{"start": "22:00", "end": "24:00"}],
        },
        "holidays": ["2026-11-11", "2026-05-01"],
        "special_days": [{"day": "2026-12-24", "hours": [{"start": "08:00", "end": "12:00"}]}],
    }

    calendar = BusinessCalendar.from_json(stored)

    assert calendar.to_json() == {**stored, "holidays": ["2026-05-01", "2026-11-11"]}
    assert BusinessCalendar.from_json(json.loads(json.dumps(calendar.to_json()))) == calendar
    assert calendar.hours[5] == (Opening(start=time(22), end=time(0)),)


def test_office_hours_are_monday_to_friday_nine_to_five():
    calendar = BusinessCalendar.office_hours("Europe/Bucharest")

    assert calendar == office("Europe/Bucharest")
    assert calendar.to_json()["hours"] == WEEKDAYS_ONLY


# --- bad input ----------------------------------------------------------------------------


def failing_field(error: pytest.ExceptionInfo[ValidationFailed]) -> str:
    return error.value.errors[0].field


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"time_zone": "Europe/Atlantis", "hours": WEEKDAYS_ONLY}, "time_zone"),
        ({"time_zone": "", "hours": WEEKDAYS_ONLY}, "time_zone"),
        ({"hours": WEEKDAYS_ONLY}, "time_zone"),
        ({"time_zone": "../etc/passwd", "hours": WEEKDAYS_ONLY}, "time_zone"),
        ({"time_zone": "UTC", "hours": {}}, "hours"),
        ({"time_zone": "UTC"}, "hours"),
        ({"time_zone": "UTC", "hours": {"fri": [], "sat": []}}, "hours"),
        ({"time_zone": "UTC", "hours": {"monday": NINE_TO_FIVE}}, "hours.monday"),
        ({"time_zone": "UTC", "hours": {"mon": {"start": "09:00"}}}, "hours.mon"),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "17:00", "end": "09:00"}]}},
            "hours.mon[0].end",
        ),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "09:00"}]}},
            "hours.mon[0].end",
        ),
        (
            {
                "time_zone": "UTC",
                "hours": {
                    "tue": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "13:30"}]
                },
            },
            "hours.tue[0]",
        ),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "9:00", "end": "17:00"}]}},
            "hours.mon[0].start",
        ),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "24:00", "end": "24:00"}]}},
            "hours.mon[0].start",
        ),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "00:00"}]}},
            "hours.mon[0].end",
        ),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "17:60"}]}},
            "hours.mon[0].end",
        ),
        ({"time_zone": "UTC", "hours": {"mon": [{"start": "09:00"}]}}, "hours.mon[0].end"),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "17:00", "x": 1}]}},
            "hours.mon[0].x",
        ),
        ({"time_zone": "UTC", "hours": WEEKDAYS_ONLY, "holidays": ["25.12.2026"]}, "holidays[0]"),
        (
            {"time_zone": "UTC", "hours": WEEKDAYS_ONLY, "holidays": ["2026-12-25", "2026-12-25"]},
            "holidays[1]",
        ),
        ({"time_zone": "UTC", "hours": WEEKDAYS_ONLY, "holidays": "2026-12-25"}, "holidays"),
        (
            {
                "time_zone": "UTC",
                "hours": WEEKDAYS_ONLY,
                "holidays": ["2026-12-24"],
                "special_days": [{"day": "2026-12-24", "hours": NINE_TO_FIVE}],
            },
            "special_days[0].day",
        ),
        (
            {
                "time_zone": "UTC",
                "hours": WEEKDAYS_ONLY,
                "special_days": [
                    {"day": "2026-12-24", "hours": NINE_TO_FIVE},
                    {"day": "2026-12-24", "hours": NINE_TO_FIVE},
                ],
            },
            "special_days[1].day",
        ),
        (
            {
                "time_zone": "UTC",
                "hours": WEEKDAYS_ONLY,
                "special_days": [{"day": "2026-12-24", "hours": []}],
            },
            "special_days[0].hours",
        ),
        (
            {
                "time_zone": "UTC",
                "hours": WEEKDAYS_ONLY,
                "special_days": [
                    {"day": "2026-12-24", "hours": [{"start": "13:00", "end": "12:00"}]}
                ],
            },
            "special_days[0].hours[0].end",
        ),
        ({"time_zone": "UTC", "hours": WEEKDAYS_ONLY, "quiet": True}, "quiet"),
        ([], "calendar"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(document, field):
    with pytest.raises(ValidationFailed) as error:
        BusinessCalendar.from_json(document)

    assert failing_field(error) == field


def test_a_calendar_built_in_code_is_checked_as_well():
    closed = ((),) * 7
    with pytest.raises(ValidationFailed) as error:
        BusinessCalendar(time_zone="Europe/Warsaw", hours=closed)
    assert failing_field(error) == "hours"

    with pytest.raises(ValidationFailed) as error:
        BusinessCalendar(time_zone="Europe/Warsaw", hours=((),) * 5)
    assert failing_field(error) == "hours"

    seconds = ((Opening(start=time(9, 0, 30), end=time(17)),),) + ((),) * 6
    with pytest.raises(ValidationFailed) as error:
        BusinessCalendar(time_zone="Europe/Warsaw", hours=seconds)
    assert failing_field(error) == "hours.mon[0].start"

    with pytest.raises(ValidationFailed) as error:
        BusinessCalendar(
            time_zone="Europe/Warsaw",
            hours=BusinessCalendar.office_hours("UTC").hours,
            special_days=(SpecialDay(day=date(2026, 1, 2), hours=(Opening(time(12), time(11)),)),),
        )
    assert failing_field(error) == "special_days[0].hours[0].end"


NAIVE = datetime(2026, 1, 5, 9)  # noqa: DTZ001 - a moment without a time zone, on purpose
MONDAY = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: add_business_time(c, NAIVE, hours(1)), "start"),
        (lambda c: add_business_time(c, MONDAY, -hours(1)), "duration"),
        (lambda c: add_business_time(c, MONDAY, timedelta(days=400)), "duration"),
        (lambda c: business_time_between(c, NAIVE, MONDAY), "start"),
        (lambda c: business_time_between(c, MONDAY, NAIVE), "end"),
        (lambda c: is_working_time(c, NAIVE), "moment"),
        (lambda c: next_opening(c, NAIVE), "moment"),
    ],
)
def test_bad_moments_and_durations_are_refused_naming_the_argument(call, field):
    with pytest.raises(ValidationFailed) as error:
        call(office("Europe/Bucharest"))

    assert failing_field(error) == field


# --- properties ---------------------------------------------------------------------------

ZONES = [
    "Europe/Bucharest",
    "Europe/Warsaw",
    "America/New_York",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Australia/Lord_Howe",  # a half-hour daylight-saving change
    "UTC",
]
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS_IN_THE_YEAR = 365 * 24 * 60 * 60


@st.composite
def day_openings(draw: st.DrawFn, earliest: int = 0) -> list[dict[str, str]]:
    """One day's hours: up to three intervals on whole minutes, the last possibly to 24:00."""
    marks = sorted(
        draw(st.lists(st.integers(earliest, 24 * 60), min_size=0, max_size=6, unique=True))
    )
    if len(marks) % 2:
        marks.pop()
    return [
        {"start": minute_text(start), "end": minute_text(end)}
        for start, end in zip(marks[::2], marks[1::2], strict=True)
    ]


def minute_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def calendars(draw: st.DrawFn, earliest: int = 0) -> BusinessCalendar:
    """A calendar whose hours begin no earlier than `earliest` minutes past midnight."""
    week = {
        name: draw(day_openings(earliest))
        for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    if not any(week.values()):
        week["wed"] = NINE_TO_FIVE
    days = st.dates(min_value=date(2025, 12, 25), max_value=date(2027, 1, 10))
    holidays = draw(st.lists(days, max_size=8, unique=True))
    special = draw(st.lists(days.filter(lambda day: day not in holidays), max_size=4, unique=True))
    special_days = []
    for day in special:
        openings = draw(day_openings(earliest))
        special_days.append({"day": day.isoformat(), "hours": openings or NINE_TO_FIVE})
    return BusinessCalendar.from_json(
        {
            "time_zone": draw(st.sampled_from(ZONES)),
            "hours": week,
            "holidays": [day.isoformat() for day in holidays],
            "special_days": special_days,
        }
    )


def clock_changes(time_zone: str) -> list[datetime]:
    """The hours of 2026 (UTC) in which the zone's offset changed."""
    zone = ZoneInfo(time_zone)
    hourly = [YEAR_START + timedelta(hours=n) for n in range(365 * 24)]
    return [
        later
        for earlier, later in pairwise(hourly)
        if earlier.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset()
    ]


CLOCK_CHANGES = sorted({change for zone in ZONES for change in clock_changes(zone)})
THREE_DAYS = 3 * 24 * 60 * 60

# Half the moments fall within three days of a clock change somewhere, where mistakes hide.
moments = st.one_of(
    st.builds(
        lambda seconds, micro: YEAR_START + timedelta(seconds=seconds, microseconds=micro),
        st.integers(0, SECONDS_IN_THE_YEAR),
        st.integers(0, 999_999),
    ),
    st.builds(
        lambda change, seconds: change + timedelta(seconds=seconds),
        st.sampled_from(CLOCK_CHANGES),
        st.integers(-THREE_DAYS, THREE_DAYS),
    ),
)


def weekly_working_time(calendar: BusinessCalendar) -> timedelta:
    return sum(
        (
            timedelta(seconds=opening.end_second - opening.start_second)
            for openings in calendar.hours
            for opening in openings
        ),
        timedelta(0),
    )


def durations_for(calendar: BusinessCalendar) -> st.SearchStrategy[timedelta]:
    """Zero, or up to six weeks of the calendar's working time, to the second or microsecond."""
    longest = 6 * weekly_working_time(calendar)
    return st.one_of(
        st.just(timedelta(0)),
        st.integers(1, int(longest.total_seconds())).map(lambda s: timedelta(seconds=s)),
        st.integers(1, longest // timedelta(microseconds=1)).map(
            lambda micro: timedelta(microseconds=micro)
        ),
    )


calendars_with_a_duration = calendars().flatmap(
    lambda calendar: st.tuples(st.just(calendar), durations_for(calendar))
)
calendars_with_two_durations = calendars().flatmap(
    lambda calendar: st.tuples(st.just(calendar), durations_for(calendar), durations_for(calendar))
)


@settings(max_examples=150, deadline=None)
@given(case=calendars_with_a_duration, start=moments)
def test_the_time_between_start_and_deadline_is_the_duration(case, start):
    calendar, duration = case
    deadline = add_business_time(calendar, start, duration)

    assert deadline >= start
    assert business_time_between(calendar, start, deadline) == duration
    assert deadline.tzinfo is UTC


@settings(max_examples=150, deadline=None)
@given(case=calendars_with_a_duration, start=moments)
def test_a_deadline_is_in_working_time_or_on_a_closing_edge(case, start):
    calendar, duration = case
    deadline = add_business_time(calendar, start, duration)

    if duration:
        # In an interval or exactly at its close: the microsecond before was working time.
        assert is_working_time(calendar, deadline - timedelta(microseconds=1))
    else:
        assert is_working_time(calendar, deadline)
        assert deadline == next_opening(calendar, start)


@settings(max_examples=100, deadline=None)
@given(case=calendars_with_two_durations, start=moments)
def test_a_longer_duration_never_gives_an_earlier_deadline(case, start):
    calendar, first, second = case
    shorter, longer = sorted((first, second))

    assert add_business_time(calendar, start, shorter) <= add_business_time(calendar, start, longer)


@settings(max_examples=100, deadline=None)
@given(case=calendars_with_a_duration, first=moments, second=moments)
def test_a_later_start_never_gives_an_earlier_deadline(case, first, second):
    calendar, duration = case
    earlier, later = sorted((first, second))

    assert add_business_time(calendar, earlier, duration) <= add_business_time(
        calendar, later, duration
    )


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), first=moments, second=moments, third=moments)
def test_working_time_adds_up_and_never_exceeds_clock_time(calendar, first, second, third):
    a, b, c = sorted((first, second, third))

    assert business_time_between(calendar, a, b) + business_time_between(
        calendar, b, c
    ) == business_time_between(calendar, a, c)
    assert timedelta(0) <= business_time_between(calendar, a, c) <= c - a
    assert business_time_between(calendar, c, a) == -business_time_between(calendar, a, c)


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), moment=moments)
def test_the_next_opening_is_working_time_with_none_before_it(calendar, moment):
    opening = next_opening(calendar, moment)

    assert opening >= moment
    assert is_working_time(calendar, opening)
    assert business_time_between(calendar, moment, opening) == timedelta(0)
    assert (opening == moment) == is_working_time(calendar, moment)


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), moment=moments)
def test_the_calendar_survives_storage(calendar, moment):
    stored = BusinessCalendar.from_json(json.loads(json.dumps(calendar.to_json())))

    assert stored == calendar
    assert is_working_time(stored, moment) == is_working_time(calendar, moment)


def working_minutes_on_the_wall_clock(calendar: BusinessCalendar, start: datetime, end: datetime):
    """Counts, minute by minute, the minutes whose local wall time lies in that day's hours."""
    worked = 0
    minute = start
    while minute < end:
        local = minute.astimezone(calendar.zone)
        second = local.hour * 3600 + local.minute * 60
        if any(
            opening.start_second <= second < opening.end_second
            for opening in calendar.openings_on(local.date())
        ):
            worked += 1
        minute += timedelta(minutes=1)
    return timedelta(minutes=worked)


@settings(max_examples=60, deadline=None)
@given(
    # Away from the small hours the rule "real elapsed time" and a plain reading of the wall
    # clock agree, so a minute-by-minute count checks the day-by-day arithmetic independently.
    calendar=calendars(earliest=5 * 60),
    start=moments.map(lambda moment: moment.replace(second=0, microsecond=0)),
    length=st.integers(0, 3 * 24 * 60),
)
def test_working_time_matches_a_minute_by_minute_count(calendar, start, length):
    end = start + timedelta(minutes=length)

    assert business_time_between(calendar, start, end) == working_minutes_on_the_wall_clock(
        calendar, start, end
    )
