"""SLAs of cases: deadlines in business hours, warnings, escalation, overdue lists, attainment.

A detractor must hear back quickly, so every case carries two deadlines counted in the
organisation's working time (`sonda.loop.business_hours`): the first contact and the closing.
The rules, decided once here so that the sweep, the overdue lists and attainment agree:

- **Targets** are set per priority (`SlaTarget`); a priority without a row uses the defaults
  below: urgent 2 h to the first contact and 8 h to close, high 4 h / 24 h, normal 8 h / 40 h
  (a working day to call back, a working week to close), low 16 h / 80 h. The warning comes
  1 h before an urgent deadline, 2 h before a high or normal one and 4 h before a low one.
- **The calendar** is the organisation's (`LoopSettings.business_calendar`); until one is set,
  Monday to Friday 09:00–17:00 in the organisation's time zone.
- **Deadlines are given when a case opens**, both counted from the opening moment. A change of
  targets or calendar applies to cases opened (or reopened) afterwards: a deadline once given
  does not move under its owner.
- **Met**: the first-contact deadline by reaching "in contact" (`first_contact_at` ≤ due); the
  closing deadline by reaching "resolved" or "not resolved" (`resolved_at` ≤ due) — closing then
  files the root causes and the outcome. A deadline is **missed** once the clock passes it
  unmet; contact made in its very minute made it. Met or missed, it no longer counts.
- **Reopening** a closed case gives it a fresh closing deadline from the reopening moment (its
  warning and breach are forgotten so that they can happen again); the first contact happened,
  so its deadline stays as it was.
- **Warning**: once per deadline (`*_warned_at`), when the working time left is at most the
  priority's `warn_before_hours` (0: no warning), and never for a deadline already missed.
- **Escalation**: each missed deadline is one step up (`escalation_level`). The first step goes
  to the owner's direct supervisor, each later one to the person above the previous recipient
  (`escalated_to`). "Above" someone is their person record's supervisor (skipping people
  without an active account here); without one, the manager of the nearest unit above them on
  the case's branch of the unit tree. When nobody is above — or the case waits in the fallback
  queue with no owner — the step goes to head office: the organisation's admins and analysts,
  who see every case (`escalated_to` stays empty). Escalating informs; the case keeps its
  owner. The level survives reopening: a reopened case that is late again goes higher.
- Every warning and step is an entry on the case's timeline (`warned`, `escalated`), written
  through `case_event_record`, with the deadline, its due moment, the level and the recipient;
  the notifications hook those entries. Each write bumps the case's version like any other.
- **The sweep** (`sla_sweep`) is idempotent and safe to run concurrently: it locks each case,
  checks it again, and writes each deadline's warning and breach once.
- **Overdue**: an open case past a deadline it has not met.
- **Attainment**: over the cases opened in a period (days of the calendar's time zone), each
  deadline counts once decided (met, or missed); the share met has a Wilson 95% interval, and a
  group below its programs' minimum base (default 30) shows "too few cases", not a share.
- **Who reads what**: the targets and the calendar every member (the deadlines are theirs);
  admins and analysts change them. Overdue lists and attainment are for admins, analysts,
  executives (every case) and managers (the cases they see: their subtree, their own, their
  functions'); frontline employees see their deadlines on their own cases instead.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.db.models import JSONField, OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import Organisation
from sonda.accounts.services import audit_record
from sonda.core.errors import ValidationFailed
from sonda.loop.business_hours import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from sonda.loop.models import (
    Case,
    CaseEventKind,
    CaseState,
    LoopSettings,
    Priority,
    SlaTarget,
)
from sonda.loop.routing import eligible_owners
from sonda.loop.timeline import case_event_record, case_save
from sonda.loop.validation import is_id
from sonda.org.models import Person, Unit

logger = logging.getLogger(__name__)

Deadline = Literal["first_contact", "close"]
DEADLINES: tuple[Deadline, ...] = ("first_contact", "close")

# The defaults of a priority without its own target: (first contact, close, warning lead), hours.
DEFAULT_TARGETS: Mapping[str, tuple[int, int, int]] = {
    Priority.URGENT: (2, 8, 1),
    Priority.HIGH: (4, 24, 2),
    Priority.NORMAL: (8, 40, 2),
    Priority.LOW: (16, 80, 4),
}
# About a year of office hours: a larger target is a typing mistake, not a service level.
MOST_HOURS = 2000

# Where the deadlines still count: before the first contact, and before the case is resolved.
AWAITING_CONTACT = frozenset({CaseState.NEW})
AWAITING_RESOLUTION = frozenset({CaseState.NEW, CaseState.IN_CONTACT})


# Targets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaTargetHours:
    """A priority's targets in business hours; `is_default` when the organisation set none."""

    priority: str
    first_contact_hours: int
    close_hours: int
    warn_before_hours: int
    is_default: bool

    @property
    def label(self) -> str:
        return str(Priority(self.priority).label)


def _default_target(priority: str) -> SlaTargetHours:
    first_contact, close, warn = DEFAULT_TARGETS[priority]
    return SlaTargetHours(priority, first_contact, close, warn, is_default=True)


def _targets_of(organisation_id: int) -> dict[str, SlaTargetHours]:
    targets = {priority: _default_target(priority) for priority in Priority.values}
    for row in SlaTarget.objects.filter(organisation_id=organisation_id):
        targets[row.priority] = SlaTargetHours(
            row.priority,
            row.first_contact_hours,
            row.close_hours,
            row.warn_before_hours,
            is_default=False,
        )
    return targets


def sla_targets(*, scope: Scope) -> list[SlaTargetHours]:
    """The organisation's targets for every priority, the most urgent first."""
    targets = _targets_of(scope.organisation_id)
    return [targets[priority] for priority in Priority.values]


def _priority(value: object) -> str:
    if value not in Priority.values:
        raise ValidationFailed.on(
            "priority", _("one of %(values)s") % {"values": ", ".join(Priority.values)}
        )
    return str(value)


def _hours(value: object, name: str, *, least: int) -> int:
    if not is_id(value) or not least <= value <= MOST_HOURS:
        raise ValidationFailed.on(
            name,
            _("a whole number of hours from %(least)d to %(most)d")
            % {"least": least, "most": MOST_HOURS},
        )
    return value


def sla_target_set(
    *,
    scope: Scope,
    priority: str,
    first_contact_hours: int,
    close_hours: int,
    warn_before_hours: int,
) -> SlaTargetHours:
    """Set a priority's targets (admins and analysts); they apply to cases opened from now on.

    ValidationFailed names the field: the hours are whole numbers, the closing target is not
    shorter than the first contact's, and the warning comes before the first contact is due.
    """
    scope.require(CONFIGURE, "change SLA targets")
    chosen = _priority(priority)
    first_contact = _hours(first_contact_hours, "first_contact_hours", least=1)
    close = _hours(close_hours, "close_hours", least=1)
    if close < first_contact:
        raise ValidationFailed.on(
            "close_hours", _("must not be shorter than the time to the first contact")
        )
    warn = _hours(warn_before_hours, "warn_before_hours", least=0)
    if warn >= first_contact:
        raise ValidationFailed.on(
            "warn_before_hours", _("must be shorter than the time to the first contact")
        )
    values = {"first_contact_hours": first_contact, "close_hours": close, "warn_before_hours": warn}
    with transaction.atomic():
        row, _created = SlaTarget.objects.update_or_create(
            organisation=scope.organisation, priority=chosen, defaults=values
        )
        audit_record(
            action="loop.sla_target_set",
            organisation=scope.organisation,
            actor=scope.user,
            target=row,
            detail={"priority": chosen, **values},
        )
    return SlaTargetHours(chosen, first_contact, close, warn, is_default=False)


def sla_target_reset(*, scope: Scope, priority: str) -> SlaTargetHours:
    """Go back to the default targets of a priority (admins and analysts)."""
    scope.require(CONFIGURE, "change SLA targets")
    chosen = _priority(priority)
    with transaction.atomic():
        removed, _kinds = SlaTarget.objects.filter(
            organisation=scope.organisation, priority=chosen
        ).delete()
        if removed:
            audit_record(
                action="loop.sla_target_reset",
                organisation=scope.organisation,
                actor=scope.user,
                detail={"priority": chosen},
            )
    return _default_target(chosen)


# The calendar ------------------------------------------------------------------------------------


def _office_hours(time_zone: str) -> BusinessCalendar:
    try:
        return BusinessCalendar.office_hours(time_zone)
    except ValidationFailed:
        logger.warning("organisation time zone %r is unknown; office hours in UTC", time_zone)
        return BusinessCalendar.office_hours("UTC")


def _calendar_of(
    organisation_id: int, time_zone: str, stored: object
) -> tuple[BusinessCalendar, bool]:
    """The calendar and whether it is the default (none stored, or one that no longer reads)."""
    if stored:
        try:
            return BusinessCalendar.from_json(stored), False
        except ValidationFailed:
            # A time zone dropped from the time-zone database, say: office hours keep the
            # deadlines coming rather than stopping every case from opening.
            logger.warning("business calendar of organisation %s no longer reads", organisation_id)
    return _office_hours(time_zone), True


@dataclass(frozen=True)
class CalendarSetting:
    calendar: BusinessCalendar
    is_default: bool


def business_calendar_get(*, scope: Scope) -> CalendarSetting:
    """The working calendar the organisation's deadlines count in."""
    stored = (
        LoopSettings.objects.filter(organisation=scope.organisation)
        .values_list("business_calendar", flat=True)
        .first()
    )
    calendar, is_default = _calendar_of(scope.organisation_id, scope.organisation.time_zone, stored)
    return CalendarSetting(calendar=calendar, is_default=is_default)


def business_calendar_set(*, scope: Scope, calendar: object) -> CalendarSetting:
    """Set the working calendar (admins and analysts) from its JSON form (`BusinessCalendar`).

    ValidationFailed names the failing field (`time_zone`, `hours.mon[0].end`, `holidays[2]`).
    It applies to cases opened from now on.
    """
    scope.require(CONFIGURE, "change the business calendar")
    parsed = BusinessCalendar.from_json(calendar)
    stored = parsed.to_json()
    with transaction.atomic():
        row, _created = LoopSettings.objects.update_or_create(
            organisation=scope.organisation, defaults={"business_calendar": stored}
        )
        audit_record(
            action="loop.business_calendar_set",
            organisation=scope.organisation,
            actor=scope.user,
            target=row,
            detail={"time_zone": parsed.time_zone, "holidays": len(parsed.holidays)},
        )
    return CalendarSetting(calendar=parsed, is_default=False)


def business_calendar_reset(*, scope: Scope) -> CalendarSetting:
    """Go back to office hours in the organisation's time zone (admins and analysts)."""
    scope.require(CONFIGURE, "change the business calendar")
    with transaction.atomic():
        changed = LoopSettings.objects.filter(organisation=scope.organisation).update(
            business_calendar={}
        )
        if changed:
            audit_record(
                action="loop.business_calendar_reset",
                organisation=scope.organisation,
                actor=scope.user,
            )
    return CalendarSetting(calendar=_office_hours(scope.organisation.time_zone), is_default=True)


# Deadlines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """An organisation's calendar and targets: what deadlines and warnings are computed from.

    Load it once (`sla_clock`) to give many cases their deadlines.
    """

    calendar: BusinessCalendar
    targets: Mapping[str, SlaTargetHours]

    def _target(self, priority: str) -> SlaTargetHours:
        return self.targets.get(priority) or self.targets[Priority.NORMAL]

    def _after(self, start: datetime, hours: int) -> datetime | None:
        try:
            return add_business_time(self.calendar, start, timedelta(hours=hours))
        except ValidationFailed:
            # Only a calendar with minutes of work a week gets here; no deadline beats a
            # case that cannot open.
            logger.warning("no SLA deadline %s business hours after %s", hours, start)
            return None

    def first_contact_due(self, priority: str, start: datetime) -> datetime | None:
        return self._after(start, self._target(priority).first_contact_hours)

    def close_due(self, priority: str, start: datetime) -> datetime | None:
        return self._after(start, self._target(priority).close_hours)

    def warning_from(self, priority: str, now: datetime) -> datetime | None:
        """Gives the latest deadline that is within the priority's warning lead at `now`.

        A deadline at or before it has at most the lead of working time left (deadlines lie
        in working time or on a closing edge, so none after it has as little); None without
        a warning lead.
        """
        lead = self._target(priority).warn_before_hours
        return self._after(now, lead) if lead > 0 else None

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        return business_time_between(self.calendar, start, end)


def sla_clock(organisation_id: int) -> SlaClock:
    """The organisation's SLA clock (two queries: the calendar with the time zone, the targets)."""
    stored_calendar = LoopSettings.objects.filter(organisation_id=OuterRef("pk")).values(
        "business_calendar"
    )[:1]
    time_zone, stored = (
        Organisation.objects.filter(pk=organisation_id)
        .annotate(stored=Subquery(stored_calendar, output_field=JSONField()))
        .values_list("time_zone", "stored")
        .get()
    )
    calendar, _is_default = _calendar_of(organisation_id, time_zone, stored)
    return SlaClock(calendar=calendar, targets=_targets_of(organisation_id))


def case_deadlines(*, clock: SlaClock, priority: str, opened_at: datetime) -> dict[str, Any]:
    """The deadlines of a case opening at `opened_at`, as fields for `Case.objects.create`."""
    return {
        "first_contact_due": clock.first_contact_due(priority, opened_at),
        "close_due": clock.close_due(priority, opened_at),
    }


def case_deadlines_restart(*, case: Case, at: datetime) -> list[str]:
    """Give a reopened case a fresh closing deadline from `at`; the changed fields (unsaved)."""
    clock = sla_clock(case.organisation_id)
    case.close_due = clock.close_due(case.priority, at)
    case.close_warned_at = None
    case.close_breached_at = None
    return ["close_due", "close_warned_at", "close_breached_at"]


# The sweep: warnings and escalation --------------------------------------------------------------


@dataclass
class SweepResult:
    """What one sweep did: warnings given and escalation steps taken."""

    cases: int = 0
    warned: int = 0
    escalated: int = 0
    failed: list[int] = field(default_factory=list)


def _due(case: Case, deadline: Deadline) -> datetime | None:
    due: datetime | None = getattr(case, f"{deadline}_due")
    return due


def _pending(case: Case, deadline: Deadline) -> bool:
    """Whether the deadline still counts: not yet met, the case not past it in the workflow."""
    if deadline == "first_contact":
        return case.state in AWAITING_CONTACT and case.first_contact_at is None
    return case.state in AWAITING_RESOLUTION


def _candidates(organisation_id: int, clock: SlaClock, now: datetime) -> list[int]:
    """Ids of the cases that may need a warning or an escalation step now (checked again)."""
    warning_from = {priority: clock.warning_from(priority, now) for priority in Priority.values}

    def needs_action(deadline: Deadline) -> Q:
        due = f"{deadline}_due"
        within_lead = Q(pk__in=[])
        for priority, latest in warning_from.items():
            if latest is not None:
                within_lead |= Q(priority=priority, **{f"{due}__lte": latest})
        return Q(**{f"{deadline}_breached_at__isnull": True, f"{due}__isnull": False}) & (
            Q(**{f"{due}__lt": now}) | (Q(**{f"{deadline}_warned_at__isnull": True}) & within_lead)
        )

    first_contact = Q(state__in=AWAITING_CONTACT, first_contact_at__isnull=True) & needs_action(
        "first_contact"
    )
    close = Q(state__in=AWAITING_RESOLUTION) & needs_action("close")
    return list(
        Case.objects.filter(organisation_id=organisation_id)
        .filter(first_contact | close)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sla_sweep(*, now: datetime, organisation_id: int | None = None) -> SweepResult:
    """Warn owners of deadlines close at hand and escalate missed ones; what it did.

    Run every minute (`sonda.loop.sla_tasks`). Running it again at the same moment, or two at
    once, changes nothing more: every case is locked and checked again before it is written.
    A case that fails is logged and left for the next run; the others go on.
    """
    result = SweepResult()
    organisations = (
        Case.objects.filter(state__in=AWAITING_RESOLUTION)
        .order_by()
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    if organisation_id is not None:
        organisations = organisations.filter(organisation_id=organisation_id)
    for org_id in sorted(organisations):
        clock = sla_clock(org_id)
        for case_id in _candidates(org_id, clock, now):
            try:
                warned, escalated = _case_sweep(case_id=case_id, clock=clock, now=now)
            except Exception:
                logger.exception("SLA sweep failed on case %s", case_id)
                result.failed.append(case_id)
                continue
            result.cases += 1 if warned or escalated else 0
            result.warned += warned
            result.escalated += escalated
    return result


def _case_sweep(*, case_id: int, clock: SlaClock, now: datetime) -> tuple[int, int]:
    """Warn and escalate one case as its deadlines stand at `now`; (warnings, steps) taken."""
    warned = escalated = 0
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            return 0, 0
        fields: list[str] = []
        for deadline in DEADLINES:
            due = _due(case, deadline)
            if due is None or not _pending(case, deadline):
                continue
            if due < now:
                if getattr(case, f"{deadline}_breached_at") is None:
                    fields += _escalate(case, deadline=deadline, due=due, now=now)
                    escalated += 1
            elif getattr(case, f"{deadline}_warned_at") is None:
                latest = clock.warning_from(case.priority, now)
                if latest is not None and due <= latest:
                    fields += _warn(case, deadline=deadline, due=due, now=now, clock=clock)
                    warned += 1
        if fields:
            case_save(case, list(dict.fromkeys(fields)))
    return warned, escalated


def _warn(
    case: Case, *, deadline: Deadline, due: datetime, now: datetime, clock: SlaClock
) -> list[str]:
    left = clock.working_time_between(now, due)
    case_event_record(
        case=case,
        kind=CaseEventKind.WARNED,
        at=now,
        data={
            "deadline": deadline,
            "due": due.isoformat(),
            "minutes_left": int(left.total_seconds() // 60),
            "owner": case.owner_id,
        },
    )
    setattr(case, f"{deadline}_warned_at", now)
    return [f"{deadline}_warned_at"]


def _escalate(case: Case, *, deadline: Deadline, due: datetime, now: datetime) -> list[str]:
    """Record the missed deadline and take the case one step up (see the module's rules)."""
    recipient, via = escalation_recipient(case)
    level = case.escalation_level + 1
    case_event_record(
        case=case,
        kind=CaseEventKind.ESCALATED,
        at=now,
        data={
            "deadline": deadline,
            "due": due.isoformat(),
            "level": level,
            "to_user": recipient,
            "via": via,
            "owner": case.owner_id,
        },
    )
    setattr(case, f"{deadline}_breached_at", now)
    case.escalation_level = level
    case.escalated_to_id = recipient
    return [f"{deadline}_breached_at", "escalation_level", "escalated_to"]


EscalationVia = Literal["supervisor", "unit_manager", "head_office"]


def escalation_recipient(case: Case) -> tuple[int | None, EscalationVia]:
    """Who the case's next escalation step goes to, and why; None: head office.

    The first step starts from the owner, a later one from the previous recipient. Nobody is
    escalated to who is below, the owner, or the employee the case is about.
    """
    below = case.escalated_to_id if case.escalation_level > 0 else case.owner_id
    if below is None:
        return None, "head_office"
    excluded = {below} | ({case.owner_id} if case.owner_id is not None else set())
    if case.employee_id is not None:
        excluded |= set(
            Person.objects.filter(pk=case.employee_id, user__isnull=False).values_list(
                "user_id", flat=True
            )
        )
    supervisors = _supervisors_above(case.organisation_id, below)
    managers = _managers_above(case, below)
    reachable = eligible_owners(case.organisation_id, [*supervisors, *managers]) - excluded
    ladders: tuple[tuple[list[int], EscalationVia], ...] = (
        (supervisors, "supervisor"),
        (managers, "unit_manager"),
    )
    for candidates, via in ladders:
        found = next((user_id for user_id in candidates if user_id in reachable), None)
        if found is not None:
            return found, via
    return None, "head_office"


# Deeper than any real hierarchy; a longer chain of supervisors is a loop in the records.
LONGEST_CHAIN = 50


def _supervisors_above(organisation_id: int, user_id: int) -> list[int]:
    """The accounts of the active supervisors up `user_id`'s person record, nearest first."""
    person = Person.objects.filter(organisation_id=organisation_id, user_id=user_id).first()
    found: list[int] = []
    seen: set[int] = set()
    while person is not None and person.supervisor_id is not None and len(seen) < LONGEST_CHAIN:
        seen.add(person.pk)
        if person.supervisor_id in seen:
            break
        person = Person.objects.filter(
            organisation_id=organisation_id, pk=person.supervisor_id
        ).first()
        if person is not None and person.is_active and person.user_id is not None:
            found.append(person.user_id)
    return found


def _managers_above(case: Case, user_id: int) -> list[int]:
    """The accounts of the active managers of the units above `user_id` on the case's branch of
    the unit tree, nearest first.

    Above a manager of one of the branch's units are the managers of the units above it; above
    anyone else, the managers of the case's unit and upwards.
    """
    if case.unit_id is None or not case.unit_path:
        return []
    branch_ids = [int(part) for part in case.unit_path.split(".") if part.isdigit()]
    units = {
        unit.pk: unit
        for unit in Unit.objects.select_related("manager").filter(
            organisation_id=case.organisation_id, pk__in=branch_ids
        )
    }
    nearest_first = [units[pk] for pk in reversed(branch_ids) if pk in units]
    managed = [
        index
        for index, unit in enumerate(nearest_first)
        if unit.manager is not None and unit.manager.user_id == user_id
    ]
    above = nearest_first[managed[-1] + 1 :] if managed else nearest_first
    return [
        unit.manager.user_id
        for unit in above
        if unit.manager is not None and unit.manager.is_active and unit.manager.user_id is not None
    ]
