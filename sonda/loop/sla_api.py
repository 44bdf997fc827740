"""SLAs over the API (/api/v1/sla): targets, the business calendar, overdue cases, attainment.

Every member reads the targets and the calendar; admins and analysts change them (403 for the
others). Overdue cases and attainment are for admins, analysts, executives and managers (their
subtree's cases); frontline employees are refused (403). Handlers parse, call a service or
selector of `sonda.loop.sla` / `sonda.loop.sla_reports`, and answer.
"""

from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.api.schemas import InputSchema
from sonda.loop.models import Case, CaseState, Priority
from sonda.loop.sla import (
    CalendarSetting,
    SlaTargetHours,
    business_calendar_get,
    business_calendar_reset,
    business_calendar_set,
    sla_clock,
    sla_target_reset,
    sla_target_set,
    sla_targets,
)
from sonda.loop.sla_reports import overdue_by, overdue_by_owner, overdue_cases, sla_attainment
from sonda.org.schemas import UnitRef

router = Router(tags=["SLAs"])

# Schemas -----------------------------------------------------------------------------------------


class SlaTargetOut(Schema):
    priority: Priority
    first_contact_hours: int = Field(description="Business hours from opening to first contact.")
    close_hours: int = Field(description="Business hours from opening to resolving the case.")
    warn_before_hours: int = Field(description="The owner is warned this long before; 0: never.")
    is_default: bool = Field(description="The organisation has not set this priority's targets.")


class SlaTargetIn(InputSchema):
    first_contact_hours: int = Field(description="1 to 2000 business hours.")
    close_hours: int = Field(description="At least the first contact's hours, at most 2000.")
    warn_before_hours: int = Field(description="0 (no warning) up to the first contact's hours.")


class OpeningSchema(Schema):
    start: str = Field(description="Wall time, e.g. 09:00.", examples=["09:00"])
    end: str = Field(description="Wall time after the start; 24:00: midnight.", examples=["17:00"])


class SpecialDaySchema(Schema):
    day: str = Field(description="A date, e.g. 2026-12-24.", examples=["2026-12-24"])
    hours: list[OpeningSchema] = Field(description="That day's working hours, replacing its own.")


class CalendarIn(InputSchema):
    time_zone: str = Field(description="An IANA time zone, e.g. Europe/Bucharest.")
    hours: dict[str, list[OpeningSchema]] = Field(
        default_factory=dict,
        description="Working hours per weekday (mon … sun); a day left out is closed.",
    )
    holidays: list[str] = Field(default_factory=list, description="Closed dates, e.g. 2026-12-25.")
    special_days: list[SpecialDaySchema] = Field(
        default_factory=list, description="Dates with their own hours (a half day, a Saturday)."
    )


class CalendarOut(CalendarIn):
    is_default: bool = Field(description="Office hours in the organisation's time zone: none set.")


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class OverdueCaseOut(Schema):
    id: int
    state: CaseState
    priority: Priority
    owner: UserRef | None = Field(description="Who calls back; null: the fallback queue.")
    unit: UnitRef | None
    opened_at: datetime
    first_contact_due: datetime | None
    close_due: datetime | None
    first_contact_overdue: bool = Field(description="No first contact by its deadline.")
    close_overdue: bool = Field(description="Not resolved by its closing deadline.")
    missed_due: datetime = Field(description="The earliest deadline it missed.")
    overdue_minutes: int = Field(description="Working time since the earliest missed deadline.")
    escalation_level: int
    escalated_to: UserRef | None = Field(description="The last escalation's recipient.")


class OverduePage(Schema):
    count: int
    items: list[OverdueCaseOut]


class OverdueQuery(Schema):
    owner_id: int | None = Field(None, description="Only this owner's cases.")
    unit_id: int | None = Field(None, description="Only cases of this unit and those below it.")
    limit: int = Field(
        settings.SONDA_PAGE_SIZE,
        ge=1,
        le=settings.SONDA_MAX_PAGE_SIZE,
        description="How many items to return.",
    )
    offset: int = Field(0, ge=0, description="How many items to skip.")


class OverdueOwnerOut(Schema):
    owner_id: int | None = Field(description="null: the fallback queue.")
    owner_name: str
    overdue: int = Field(description="Open cases past a deadline they missed.")
    first_contact: int = Field(description="Of which past the first contact's deadline.")
    close: int = Field(description="Of which past the closing deadline.")


class OverdueOwnerQuery(Schema):
    unit_id: int | None = Field(None, description="Only cases of this unit and those below it.")


class AttainmentQuery(Schema):
    by: Literal["unit", "owner"] = Field("unit", description="Rows per case unit or per owner.")
    date_from: date | None = Field(
        None, description="First day the cases opened (organisation's calendar); 30 days ago."
    )
    date_to: date | None = Field(None, description="Last day, included; today.")
    unit_id: int | None = Field(None, description="Only cases of this unit and those below it.")


class ShareOut(Schema):
    met: int = Field(description="Deadlines met.")
    n: int = Field(description="Deadlines decided: met, or missed.")
    minimum_base: int
    too_few: bool = Field(description="n is below the minimum base: no share is given.")
    share: float | None = Field(description="met / n, from 0 to 1.")
    low: float | None = Field(description="Wilson 95% interval, lower end.")
    high: float | None = Field(description="Wilson 95% interval, upper end.")


class AttainmentRowOut(Schema):
    key: str = Field(description="The unit's or the owner's id; empty: no unit, or the queue.")
    label: str
    cases: int = Field(description="Cases opened in the period.")
    first_contact: ShareOut
    close: ShareOut


class AttainmentOut(Schema):
    by: str
    date_from: date
    date_to: date
    rows: list[AttainmentRowOut]
    total: AttainmentRowOut


# Targets and calendar ----------------------------------------------------------------------------


def _calendar_json(setting: CalendarSetting) -> dict[str, Any]:
    return {**setting.calendar.to_json(), "is_default": setting.is_default}


@router.get("/targets", response=list[SlaTargetOut], summary="The SLA targets of every priority")
def target_list(request: HttpRequest) -> list[SlaTargetHours]:
    return sla_targets(scope=scope_of(request))


@router.put(
    "/targets/{priority}",
    response=SlaTargetOut,
    summary="Set a priority's SLA targets (cases opened from now on)",
)
def target_set(request: HttpRequest, priority: Priority, payload: SlaTargetIn) -> SlaTargetHours:
    return sla_target_set(
        scope=scope_of(request),
        priority=priority,
        first_contact_hours=payload.first_contact_hours,
        close_hours=payload.close_hours,
        warn_before_hours=payload.warn_before_hours,
    )


@router.delete(
    "/targets/{priority}",
    response=SlaTargetOut,
    summary="Go back to a priority's default SLA targets",
)
def target_reset(request: HttpRequest, priority: Priority) -> SlaTargetHours:
    return sla_target_reset(scope=scope_of(request), priority=priority)


@router.get("/calendar", response=CalendarOut, summary="The business calendar deadlines count in")
def calendar_get(request: HttpRequest) -> dict[str, Any]:
    return _calendar_json(business_calendar_get(scope=scope_of(request)))


@router.put(
    "/calendar",
    response=CalendarOut,
    summary="Set the business calendar (cases opened from now on)",
    description=(
        "Working hours per weekday in the time zone, holidays and special days. A failing field "
        "is named in the problem's `errors[].field`, e.g. `hours.mon[0].end` or `holidays[2]`."
    ),
)
def calendar_set(request: HttpRequest, payload: CalendarIn) -> dict[str, Any]:
    setting = business_calendar_set(scope=scope_of(request), calendar=payload.model_dump())
    return _calendar_json(setting)


@router.delete(
    "/calendar",
    response=CalendarOut,
    summary="Go back to office hours (Monday to Friday, 09:00–17:00) in the organisation's zone",
)
def calendar_reset(request: HttpRequest) -> dict[str, Any]:
    return _calendar_json(business_calendar_reset(scope=scope_of(request)))


# Overdue and attainment --------------------------------------------------------------------------


def _overdue_item(case: Case, minutes: int) -> dict[str, Any]:
    return {
        "id": case.pk,
        "state": case.state,
        "priority": case.priority,
        "owner": case.owner,
        "unit": case.unit,
        "opened_at": case.opened_at,
        "first_contact_due": case.first_contact_due,
        "close_due": case.close_due,
        "first_contact_overdue": bool(getattr(case, "first_contact_overdue", False)),
        "close_overdue": bool(getattr(case, "close_overdue", False)),
        "missed_due": getattr(case, "missed_due", None),
        "overdue_minutes": minutes,
        "escalation_level": case.escalation_level,
        "escalated_to": case.escalated_to,
    }


@router.get(
    "/overdue",
    response=OverduePage,
    summary="Open cases past a deadline they missed, the longest overdue first",
)
def overdue_list(request: HttpRequest, query: Query[OverdueQuery]) -> dict[str, Any]:
    scope = scope_of(request)
    now = timezone.now()
    cases = overdue_cases(scope=scope, now=now, owner_id=query.owner_id, unit_id=query.unit_id)
    page = list(cases[query.offset : query.offset + query.limit])
    clock = sla_clock(scope.organisation_id)
    items = [
        _overdue_item(
            case,
            int(overdue_by(clock, getattr(case, "missed_due", None), now).total_seconds() // 60),
        )
        for case in page
    ]
    return {"count": cases.count(), "items": items}


@router.get(
    "/overdue/by-owner",
    response=list[OverdueOwnerOut],
    summary="How many overdue cases each owner has",
)
@paginate(Page)
def overdue_owner_list(
    request: HttpRequest, query: Query[OverdueOwnerQuery]
) -> list[dict[str, Any]]:
    return overdue_by_owner(scope=scope_of(request), now=timezone.now(), unit_id=query.unit_id)


@router.get(
    "/attainment",
    response=AttainmentOut,
    summary="Deadlines met, by unit or owner, with n and the 95% interval",
    description=(
        "Over the cases opened in the period, each deadline counts once decided (met, or "
        "missed). A group below its programs' minimum base (default 30) gets `too_few` and "
        "no share."
    ),
)
def attainment(request: HttpRequest, query: Query[AttainmentQuery]) -> dict[str, Any]:
    scope = scope_of(request)
    now = timezone.now()
    today = now.astimezone(sla_clock(scope.organisation_id).calendar.zone).date()
    date_to = query.date_to or today
    date_from = query.date_from or date_to - timedelta(days=29)
    return sla_attainment(
        scope=scope,
        now=now,
        date_from=date_from,
        date_to=date_to,
        by=query.by,
        unit_id=query.unit_id,
    ).as_dict()
