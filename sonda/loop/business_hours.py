"""Business hours: the organisation's working calendar, on which SLA deadlines are counted.

A case's first-contact and closing deadlines are so many hours of *working time*, not of clock
time: a detractor who answers on Friday evening is called back on Monday, and a bank holiday
does not eat into the owner's time. This module is pure (no database, no clock): the loop app
stores a `BusinessCalendar` per organisation with `to_json` and reads it back with `from_json`.

The rules, decided once here so that deadlines, warnings, "overdue by" and SLA attainment agree:

- Working hours are wall-clock intervals of the organisation's time zone per weekday (one or more
  per day, e.g. 08:00–12:00 and 13:00–17:00). A holiday closes the whole day; a special day
  replaces its weekday's hours with its own (a half-day before Christmas, a Saturday worked to
  bridge a holiday). An interval may end at 24:00 (written as 00:00 in an `Opening`); a night
  shift is written as two intervals, 22:00–24:00 and 00:00–06:00 of the next weekday.
- Working time is *real elapsed time* inside those intervals. A day of 09:00–17:00 is eight hours
  also on the day the clocks change (the change happens at night); an interval that contains the
  skipped hour is an hour shorter (00:00–24:00 is 23 hours in March) and one that contains the
  repeated hour is an hour longer (25 hours in October).
- A wall time the clocks skip opens or closes at the moment of the jump (an opening at 02:30 in
  Warsaw on the last Sunday of March opens at 03:00 summer time); a wall time that occurs twice
  is read as its first occurrence. Both keep intervals in order, so they never overlap.
- Intervals are half-open: 17:00 on a 09:00–17:00 day is no longer working time. A deadline that
  uses up an interval exactly is its closing time (Friday 17:00, not Monday 09:00), so a deadline
  always lies in an interval or on its closing edge; a zero duration from outside working hours
  is the next opening.
- Moments may come in any time zone; results are in UTC. Python adds to and subtracts aware
  datetimes of one zone on the wall clock, and compares a repeated wall time of one zone unequal
  to every moment of another, so zoned results would invite both mistakes; the pages show a
  deadline in the viewer's own zone anyway.

Deadlines are found day by day, a handful of time-zone conversions per day, so a duration of
months costs a few hundred steps; durations are capped at a year of working time so that a
mistyped SLA cannot keep a worker looping.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from sonda.core.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECONDS_PER_DAY = 24 * 60 * 60
LONGEST_DURATION = timedelta(days=366)

_NO_TIME = timedelta(0)


@dataclass(frozen=True)
class Opening:
    """One working interval of a day in local wall time; an `end` of 00:00 means 24:00."""

    start: time
    end: time

    @property
    def start_second(self) -> int:
        return _second_of_day(self.start)

    @property
    def end_second(self) -> int:
        return _second_of_day(self.end) or SECONDS_PER_DAY

    def to_json(self) -> dict[str, str]:
        end = "24:00" if self.end_second == SECONDS_PER_DAY else self.end.strftime("%H:%M")
        return {"start": self.start.strftime("%H:%M"), "end": end}


@dataclass(frozen=True)
class SpecialDay:
    """A date whose own working hours replace its weekday's (a half-day, a worked Saturday)."""

    day: date
    hours: tuple[Opening, ...]


@dataclass(frozen=True)
class BusinessCalendar:
    """An organisation's working calendar: time zone, weekly hours, holidays and special days.

    `hours` has seven entries, Monday first; a day with no openings is closed. Openings are
    kept sorted. Constructing a calendar validates it and raises `ValidationFailed` naming the
    field (`time_zone`, `hours.sat[1].end`, `holidays[2]`, `special_days[0].hours[0]`...).
    """

    time_zone: str
    hours: tuple[tuple[Opening, ...], ...]
    holidays: frozenset[date] = frozenset()
    special_days: tuple[SpecialDay, ...] = ()
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _special: Mapping[date, tuple[Opening, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _zone(self.time_zone))
        if len(self.hours) != len(WEEKDAYS):
            raise ValidationFailed.on("hours", _("must list the seven days, Monday first"))
        week = tuple(
            _checked_openings(openings, f"hours.{name}")
            for name, openings in zip(WEEKDAYS, self.hours, strict=True)
        )
        if not any(week):
            raise ValidationFailed.on("hours", _("no working time in the week"))
        special: dict[date, tuple[Opening, ...]] = {}
        for index, special_day in enumerate(self.special_days):
            path = f"special_days[{index}]"
            if special_day.day in self.holidays:
                raise ValidationFailed.on(f"{path}.day", _("is also listed as a holiday"))
            if special_day.day in special:
                raise ValidationFailed.on(f"{path}.day", _("is listed twice"))
            if not special_day.hours:
                raise ValidationFailed.on(
                    f"{path}.hours", _("has no working time; list a closed day under holidays")
                )
            special[special_day.day] = _checked_openings(special_day.hours, f"{path}.hours")
        object.__setattr__(self, "hours", week)
        object.__setattr__(
            self,
            "special_days",
            tuple(SpecialDay(day=day, hours=hours) for day, hours in sorted(special.items())),
        )
        object.__setattr__(self, "_special", special)

    @classmethod
    def office_hours(cls, time_zone: str) -> "BusinessCalendar":
        """Gives Monday to Friday, 09:00–17:00, no holidays: the calendar until one is set."""
        day = (Opening(start=time(9), end=time(17)),)
        return cls(time_zone=time_zone, hours=(day,) * 5 + ((), ()))

    @classmethod
    def from_json(cls, data: object) -> "BusinessCalendar":
        """Gives the calendar stored as `to_json` writes it; bad input names the failing field.

        ``{"time_zone": "Europe/Bucharest",
        "hours": {"mon": [{"start": "09:00", "end": "17:00"}], ...},
        "holidays": ["2026-12-25"],
        "special_days": [{"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]}]}``
        — weekdays left out are closed.
        """
        document = _object(data, "", {"time_zone", "hours", "holidays", "special_days"})
        time_zone = document.get("time_zone")
        if not isinstance(time_zone, str):
            raise ValidationFailed.on("time_zone", _("must be a time zone name like Europe/Warsaw"))
        week = _object(document.get("hours", {}), "hours", set(WEEKDAYS))
        hours = tuple(_openings_from_json(week.get(name, []), f"hours.{name}") for name in WEEKDAYS)
        holidays: set[date] = set()
        for index, item in enumerate(_list(document.get("holidays", []), "holidays")):
            holiday = _date_from_json(item, f"holidays[{index}]")
            if holiday in holidays:
                raise ValidationFailed.on(f"holidays[{index}]", _("is listed twice"))
            holidays.add(holiday)
        special_days = []
        for index, item in enumerate(_list(document.get("special_days", []), "special_days")):
            path = f"special_days[{index}]"
            entry = _object(item, path, {"day", "hours"})
            special_days.append(
                SpecialDay(
                    day=_date_from_json(entry.get("day"), f"{path}.day"),
                    hours=_openings_from_json(entry.get("hours", []), f"{path}.hours"),
                )
            )
        return cls(
            time_zone=time_zone,
            hours=hours,
            holidays=frozenset(holidays),
            special_days=tuple(special_days),
        )

    def to_json(self) -> dict[str, object]:
        """Gives the calendar as plain JSON data, the form `from_json` reads."""
        return {
            "time_zone": self.time_zone,
            "hours": {
                name: [opening.to_json() for opening in openings]
                for name, openings in zip(WEEKDAYS, self.hours, strict=True)
                if openings
            },
            "holidays": [holiday.isoformat() for holiday in sorted(self.holidays)],
            "special_days": [
                {
                    "day": special_day.day.isoformat(),
                    "hours": [opening.to_json() for opening in special_day.hours],
                }
                for special_day in self.special_days
            ],
        }

    def openings_on(self, day: date) -> tuple[Opening, ...]:
        """Gives a local date's working hours: its own, none on a holiday, or its weekday's."""
        special = self._special.get(day)
        if special is not None:
            return special
        if day in self.holidays:
            return ()
        return self.hours[day.weekday()]

    def _intervals_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Yields the day's working intervals as UTC instants, skipping any the clocks swallowed."""
        for opening in self.openings_on(day):
            start = self._instant(day, opening.start_second)
            end = self._instant(day, opening.end_second)
            if start < end:
                yield start, end

    def _intervals_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Yields every working interval from the local date `day` on, in order, without end.

        It never runs dry: the week has working time, and only finitely many dates are holidays.
        """
        while True:
            yield from self._intervals_on(day)
            day += timedelta(days=1)

    def _instant(self, day: date, second: int) -> datetime:
        """Gives the UTC instant of a local wall time (see the module's rules for DST changes)."""
        wall = datetime.combine(day, time()) + timedelta(seconds=second)
        instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) == wall:
            return instant
        return self._jump_over(wall)

    def _jump_over(self, wall: datetime) -> datetime:
        """Gives the instant the clocks jumped over the skipped wall time `wall`.

        The jump lies between the wall time read with the offsets after and before it; zoneinfo
        does not expose transitions, so the first second whose wall time reaches `wall` is found
        by bisection (about fifteen steps, and only on the day the clocks go forward).
        """
        low = int(wall.replace(tzinfo=self.zone, fold=1).timestamp())
        high = int(wall.replace(tzinfo=self.zone, fold=0).timestamp())
        while low < high:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.zone).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle + 1
        return datetime.fromtimestamp(low, UTC)

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """Gives the deadline that lies `duration` of working time after `start`.

    A start outside working hours counts from the next opening. A deadline that uses up an
    interval exactly is its closing time; a zero duration gives `start` during working hours and
    the next opening otherwise. The answer is in UTC.
    """
    start = _in_utc(start, "start")
    if duration < _NO_TIME:
        raise ValidationFailed.on("duration", _("must not be negative"))
    if duration > LONGEST_DURATION:
        raise ValidationFailed.on("duration", _("must be at most a year of working time"))
    remaining = duration
    try:
        # An interval of the previous local date may reach past midnight into `start`'s date.
        for opening, closing in calendar._intervals_from(_day_before(calendar, start)):
            if closing <= start:
                continue
            counted_from = max(opening, start)
            available = closing - counted_from
            if remaining <= available:
                return counted_from + remaining
            remaining -= available
    except OverflowError:
        # Only a calendar with minutes of work a week can push a year's duration past 9999.
        raise ValidationFailed.on(
            "duration", _("reaches beyond the last date the calendar can count")
        ) from None
    raise AssertionError("unreachable: a calendar's intervals never run out")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Gives the working time from `start` to `end`; negative when `end` comes first.

    `business_time_between(cal, now, deadline)` is the time left, and once the deadline has
    passed, minus the time it is overdue by.
    """
    start = _in_utc(start, "start")
    end = _in_utc(end, "end")
    if end < start:
        return -business_time_between(calendar, end, start)
    worked = _NO_TIME
    last_day = calendar._local_date(end)
    day = _day_before(calendar, start)
    while day <= last_day:
        for opening, closing in calendar._intervals_on(day):
            overlap = min(closing, end) - max(opening, start)
            if overlap > _NO_TIME:
                worked += overlap
        day += timedelta(days=1)
    return worked


def is_working_time(calendar: BusinessCalendar, moment: datetime) -> bool:
    """Tells whether `moment` lies in working hours (an interval's closing time does not)."""
    moment = _in_utc(moment, "moment")
    day = _day_before(calendar, moment)
    return any(
        opening <= moment < closing
        for on in (day, day + timedelta(days=1))
        for opening, closing in calendar._intervals_on(on)
    )


def next_opening(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """Gives the first working moment at or after `moment`: `moment` itself during working hours.

    This is when an SLA clock starts for a case opened at `moment`; the answer is in UTC.
    """
    moment = _in_utc(moment, "moment")
    return add_business_time(calendar, moment, _NO_TIME)


def _day_before(calendar: BusinessCalendar, moment: datetime) -> date:
    return calendar._local_date(moment) - timedelta(days=1)


def _in_utc(moment: datetime, field_name: str) -> datetime:
    """Gives the aware `moment` in UTC, where adding and subtracting count real elapsed time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationFailed.on(field_name, _("must carry a time zone"))
    return moment.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    if not name:
        raise ValidationFailed.on("time_zone", _("must be a time zone name like Europe/Warsaw"))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.on(
            "time_zone", _("“%(name)s” is not a known time zone") % {"name": name}
        ) from None


def _second_of_day(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _checked_openings(openings: tuple[Opening, ...], path: str) -> tuple[Opening, ...]:
    """Gives the openings sorted, after checking each one and that none overlap."""
    for index, opening in enumerate(openings):
        for edge in ("start", "end"):
            moment: time = getattr(opening, edge)
            if moment.tzinfo is not None:
                raise ValidationFailed.on(
                    f"{path}[{index}].{edge}", _("must be a wall time without a time zone")
                )
            if moment.second or moment.microsecond:
                raise ValidationFailed.on(f"{path}[{index}].{edge}", _("must be a whole minute"))
        if opening.end_second <= opening.start_second:
            raise ValidationFailed.on(f"{path}[{index}].end", _("must be after the start"))
    by_start = sorted(enumerate(openings), key=lambda item: item[1].start_second)
    for (_earlier_index, earlier), (index, later) in pairwise(by_start):
        if later.start_second < earlier.end_second:
            raise ValidationFailed.on(
                f"{path}[{index}]", _("overlaps another working interval of the day")
            )
    return tuple(opening for _index, opening in by_start)


def _object(data: object, path: str, known: set[str]) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValidationFailed.on(path or "calendar", _("must be an object"))
    for key in data:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise ValidationFailed.on(where, _("is not a setting of the calendar"))
    return data


def _list(data: object, path: str) -> list[object]:
    if not isinstance(data, list):
        raise ValidationFailed.on(path, _("must be a list"))
    return data


def _openings_from_json(data: object, path: str) -> tuple[Opening, ...]:
    openings = []
    for index, item in enumerate(_list(data, path)):
        entry = _object(item, f"{path}[{index}]", {"start", "end"})
        openings.append(
            Opening(
                start=_time_from_json(entry.get("start"), f"{path}[{index}].start", end=False),
                end=_time_from_json(entry.get("end"), f"{path}[{index}].end", end=True),
            )
        )
    return tuple(openings)


def _time_from_json(data: object, path: str, *, end: bool) -> time:
    """Gives the wall time of "HH:MM"; "24:00" is allowed as an end and read as 00:00."""
    if end and data == "24:00":
        return time(0)
    hours, _colon, minutes = data.partition(":") if isinstance(data, str) else ("", "", "")
    if len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit():
        hour, minute = int(hours), int(minutes)
        if hour < 24 and minute < 60:
            if end and hour == 0 and minute == 0:
                raise ValidationFailed.on(path, _("write the end of the day as 24:00"))
            return time(hour, minute)
    raise ValidationFailed.on(path, _("must be a time like 09:00"))


def _date_from_json(data: object, path: str) -> date:
    if isinstance(data, str) and len(data) == 10:
        try:
            return date.fromisoformat(data)
        except ValueError:
            pass
    raise ValidationFailed.on(path, _("must be a date like 2026-12-25"))
