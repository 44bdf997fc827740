"""Days on an organisation's calendar, as the numbers that answers and their daily tallies keep.

An answer records the day and the hour it was given on its organisation's wall clock
(`Answer.local_day`: days since 1970-01-01, `Answer.local_hour`: 0…23), so that analytics
groups and filters by day, week, month, weekday and hour with integer arithmetic on every
engine instead of converting each answer's time.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The time zone called `name`; UTC for an empty or unknown name (as analytics reads it)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_number(moment: datetime, time_zone: ZoneInfo) -> int:
    """The day of `moment` on the wall clock of `time_zone`, as days since 1970-01-01."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(time_zone).date() - EPOCH).days


def hour_of(moment: datetime, time_zone: ZoneInfo) -> int:
    """The hour (0…23) of `moment` on the wall clock of `time_zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(time_zone).hour


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def number_of(day: date) -> int:
    return (day - EPOCH).days


SECONDS_PER_DAY = 86_400


def _offset(zone: ZoneInfo, epoch_second: int) -> int:
    moment = datetime.fromtimestamp(epoch_second, tz=UTC).astimezone(zone)
    delta = moment.utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offset_changes(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int]]:
    """The zone's UTC offsets over [start, end] (epoch seconds): (from which second, offset),
    the first one in force at `start`. Found by stepping a day at a time and bisecting each
    change to the second, so any zone's rules (as zoneinfo knows them) are followed."""
    changes = [(start, _offset(zone, start))]
    step = SECONDS_PER_DAY // 2  # offsets never change twice within 12 hours
    low = start
    while low < end:
        high = min(low + step, end)
        if _offset(zone, high) != changes[-1][1]:
            a, b = low, high  # offset(a) is the current one, offset(b) is the new one
            while b - a > 1:
                middle = (a + b) // 2
                if _offset(zone, middle) == changes[-1][1]:
                    a = middle
                else:
                    b = middle
            changes.append((b, _offset(zone, b)))
        low = high
    return changes
