"""Days on an organisation's calendar, as the numbers that answers and their daily tallies keep.

An answer records the day it was given on its organisation's wall clock (`Answer.local_day`:
days since 1970-01-01), so that analytics groups and filters by day, week, month and weekday
with integer arithmetic on every engine instead of converting each answer's time.
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


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def number_of(day: date) -> int:
    return (day - EPOCH).days
