"""Quiet hours: when a message may go out in the customer's own time zone.

SMS never goes out during quiet hours; email only waits when the organisation asks it to.
Both the decision (when to schedule) and the delivery (a retry that falls into the night)
use `next_allowed_time`, so the rule lives in one place.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sonda.listening.models import ListeningSettings

DEFAULT_TIME_ZONE = "Europe/Bucharest"


@dataclass(frozen=True)
class QuietHours:
    start: time  # e.g. 21:00
    end: time  # e.g. 09:00 (the next morning when end < start)
    for_email: bool = False
    default_time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, settings: ListeningSettings | None) -> "QuietHours":
        if settings is None:
            return cls(start=time(21, 0), end=time(9, 0))
        return cls(
            start=settings.quiet_hours_start,
            end=settings.quiet_hours_end,
            for_email=settings.quiet_hours_for_email,
            default_time_zone=settings.time_zone or DEFAULT_TIME_ZONE,
        )

    def applies_to(self, channel: str) -> bool:
        return channel == "sms" or (channel == "email" and self.for_email)

    def zone(self, customer_time_zone: str = "") -> ZoneInfo:
        """The customer's zone when it is a known one, otherwise the organisation's default."""
        for name in (customer_time_zone, self.default_time_zone, DEFAULT_TIME_ZONE):
            if name:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return ZoneInfo("UTC")

    def is_quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:  # e.g. 13:00-14:00
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def next_allowed_time(
        self, at: datetime, *, channel: str, customer_time_zone: str = ""
    ) -> datetime:
        """`at` itself when a message may go out then, otherwise the end of the quiet hours.

        Computed on the customer's local wall clock, so a daylight-saving change moves the
        morning with the customer rather than with UTC. The answer is in `at`'s time zone.
        """
        if not self.applies_to(channel):
            return at
        zone = self.zone(customer_time_zone)
        local = at.astimezone(zone)
        if not self.is_quiet(local.time()):
            return at
        morning = datetime.combine(local.date(), self.end, tzinfo=zone)
        if morning <= local:
            morning = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return morning.astimezone(at.tzinfo)
