"""SLA tests' bank: cases opened at fixed moments with a chosen priority, and a clock to read."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sonda.loop.models import AlertRule, Case
from sonda.loop.opening import cases_open_for_response
from sonda.loop.tests.loop_helpers import DETRACTORS, Bank

BUCHAREST = "Europe/Bucharest"


def local(time_zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock moment of a time zone: `local(BUCHAREST, 2026, 3, 27, 16, 30)`."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(time_zone))


def open_case(bank: Bank, at: datetime, priority: str = "normal", **context: Any) -> Case:
    """A case opened at `at` by a detractor's response, with the rule's priority."""
    rule = AlertRule.objects.filter(organisation=bank.world.org, name="Detractors").first()
    if rule is None:
        rule = bank.rule("Detractors", DETRACTORS, priority=priority)
    elif rule.priority != priority:
        AlertRule.objects.filter(pk=rule.pk).update(priority=priority)
    response = bank.respond({"ltr": 2}, **context)
    case = cases_open_for_response(response_id=response.pk, now=at)
    assert case is not None
    return case


def organisation_in(bank: Bank, time_zone: str) -> None:
    """Move the bank's organisation to a time zone (its default calendar follows)."""
    bank.world.org.time_zone = time_zone
    bank.world.org.save(update_fields=["time_zone"])
