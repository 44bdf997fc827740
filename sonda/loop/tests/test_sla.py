"""SLA deadlines of cases: targets per priority on the organisation's calendar, across weekends,
holidays, time zones and daylight-saving changes; reopening; who sets targets and the calendar.

Every moment is fixed and passed in; nothing reads the wall clock. 2026's changes in Bucharest:
summer time from Sunday 29 March (UTC+2 → UTC+3), winter time from Sunday 25 October.
"""

from datetime import UTC, datetime

import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.loop.models import LoopSettings, SlaTarget
from sonda.loop.opening import cases_open_for_silence
from sonda.loop.sla import (
    business_calendar_get,
    business_calendar_reset,
    business_calendar_set,
    sla_target_reset,
    sla_target_set,
    sla_targets,
)
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import BUCHAREST, local, open_case, organisation_in
from sonda.loop.workflow import case_close, case_code_root_causes, case_reopen, case_transition

NINE_TO_FIVE = [{"start": "09:00", "end": "17:00"}]
WEEKDAYS = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), NINE_TO_FIVE)


@pytest.fixture
def bank(world):
    return make_bank(world)


def deadlines(case) -> tuple[datetime | None, datetime | None]:
    case.refresh_from_db()
    return case.first_contact_due, case.close_due


# Default targets and calendar -------------------------------------------------------------------


def test_every_priority_has_default_targets_until_the_organisation_sets_its_own(bank):
    rows = [
        (t.priority, t.first_contact_hours, t.close_hours, t.warn_before_hours, t.is_default)
        for t in sla_targets(scope=bank.scope(bank.world.frontline))
    ]
    assert rows == [
        ("urgent", 2, 8, 1, True),
        ("high", 4, 24, 2, True),
        ("normal", 8, 40, 2, True),
        ("low", 16, 80, 4, True),
    ]


def test_the_default_calendar_is_office_hours_in_the_organisations_time_zone(bank):
    organisation_in(bank, BUCHAREST)
    setting = business_calendar_get(scope=bank.scope(bank.world.manager_north))
    assert setting.is_default is True
    assert setting.calendar.to_json() == {
        "time_zone": BUCHAREST,
        "hours": WEEKDAYS,
        "holidays": [],
        "special_days": [],
    }


# Deadlines across weekends, holidays, time zones and daylight saving ---------------------------


def test_a_case_opened_on_friday_afternoon_in_bucharest_is_due_on_monday(bank):
    organisation_in(bank, BUCHAREST)
    friday = local(BUCHAREST, 2026, 1, 9, 16, 30)

    case = open_case(bank, friday, "normal")

    # Half an hour on Friday, seven and a half on Monday; a working week to close.
    assert deadlines(case) == (
        local(BUCHAREST, 2026, 1, 12, 16, 30),
        local(BUCHAREST, 2026, 1, 16, 16, 30),
    )


def test_an_urgent_case_opened_on_friday_afternoon_is_due_on_monday_morning(bank):
    organisation_in(bank, BUCHAREST)
    case = open_case(bank, local(BUCHAREST, 2026, 1, 9, 16, 30), "urgent")
    assert deadlines(case) == (
        local(BUCHAREST, 2026, 1, 12, 10, 30),
        local(BUCHAREST, 2026, 1, 12, 16, 30),
    )


def test_a_holiday_on_monday_moves_the_deadline_to_tuesday(bank):
    business_calendar_set(
        scope=bank.analyst,
        calendar={"time_zone": BUCHAREST, "hours": WEEKDAYS, "holidays": ["2026-01-12"]},
    )
    case = open_case(bank, local(BUCHAREST, 2026, 1, 9, 16, 30), "normal")
    assert deadlines(case)[0] == local(BUCHAREST, 2026, 1, 13, 16, 30)


def test_over_the_spring_change_the_deadline_keeps_its_wall_time(bank):
    organisation_in(bank, BUCHAREST)
    # Friday 27 March at 16:30 is 14:30 UTC; by Monday the clocks are an hour ahead.
    case = open_case(bank, local(BUCHAREST, 2026, 3, 27, 16, 30), "normal")
    first_contact_due, close_due = deadlines(case)
    assert first_contact_due == datetime(2026, 3, 30, 13, 30, tzinfo=UTC)
    assert first_contact_due == local(BUCHAREST, 2026, 3, 30, 16, 30)
    assert close_due == local(BUCHAREST, 2026, 4, 3, 16, 30)


def test_over_the_autumn_change_the_deadline_keeps_its_wall_time(bank):
    organisation_in(bank, BUCHAREST)
    # Friday 23 October at 16:30 is 13:30 UTC; by Monday the clocks are an hour behind.
    case = open_case(bank, local(BUCHAREST, 2026, 10, 23, 16, 30), "normal")
    first_contact_due, _close_due = deadlines(case)
    assert first_contact_due == datetime(2026, 10, 26, 14, 30, tzinfo=UTC)
    assert first_contact_due == local(BUCHAREST, 2026, 10, 26, 16, 30)


def test_the_same_moment_is_due_at_different_times_in_different_time_zones(bank):
    friday = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)  # 16:00 in Warsaw, Saturday 00:00 in Tokyo
    organisation_in(bank, "Europe/Warsaw")
    in_warsaw = open_case(bank, friday, "normal")
    organisation_in(bank, "Asia/Tokyo")
    in_tokyo = open_case(bank, friday, "normal")

    assert deadlines(in_warsaw)[0] == local("Europe/Warsaw", 2026, 1, 12, 16, 0)
    assert deadlines(in_tokyo)[0] == local("Asia/Tokyo", 2026, 1, 12, 17, 0)
    assert deadlines(in_tokyo)[0] == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)


def test_a_non_response_case_gets_deadlines_too(bank):
    rule = bank.rule(
        "Silent accounts",
        [{"kind": "non_response", "days": 90}],
        program_id=bank.survey.program_id,
        priority="high",
    )
    bank.respond({"ltr": 8})  # completed long before 2027
    now = datetime(2027, 6, 7, 10, 0, tzinfo=UTC)  # a Monday

    (case,) = cases_open_for_silence(organisation_id=bank.world.org.pk, now=now)

    assert case.alert_rule_id == rule.pk
    assert deadlines(case) == (
        datetime(2027, 6, 7, 14, 0, tzinfo=UTC),
        datetime(2027, 6, 10, 10, 0, tzinfo=UTC),
    )


# Targets -----------------------------------------------------------------------------------------


def test_an_organisations_targets_apply_to_the_cases_it_opens_next(bank):
    before = open_case(bank, OPENED, "normal")  # Monday 5 October 2026, 10:00 UTC
    target = sla_target_set(
        scope=bank.analyst,
        priority="normal",
        first_contact_hours=4,
        close_hours=16,
        warn_before_hours=1,
    )
    after = open_case(bank, OPENED, "normal")

    assert (target.first_contact_hours, target.close_hours, target.is_default) == (4, 16, False)
    assert deadlines(after) == (
        datetime(2026, 10, 5, 14, 0, tzinfo=UTC),
        datetime(2026, 10, 7, 10, 0, tzinfo=UTC),
    )
    # A deadline once given does not move under its owner.
    assert deadlines(before) == (
        datetime(2026, 10, 6, 10, 0, tzinfo=UTC),
        datetime(2026, 10, 12, 10, 0, tzinfo=UTC),
    )
    assert AuditEvent.objects.filter(action="loop.sla_target_set").count() == 1


def test_setting_a_target_again_changes_the_one_row_and_reset_goes_back_to_the_default(bank):
    for hours in (3, 5):
        sla_target_set(
            scope=bank.analyst,
            priority="high",
            first_contact_hours=hours,
            close_hours=20,
            warn_before_hours=1,
        )
    assert list(SlaTarget.objects.values_list("priority", "first_contact_hours")) == [("high", 5)]

    default = sla_target_reset(scope=bank.analyst, priority="high")

    assert (default.first_contact_hours, default.close_hours, default.is_default) == (4, 24, True)
    assert not SlaTarget.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": "whenever"}, "priority"),
        ({"first_contact_hours": 0}, "first_contact_hours"),
        ({"first_contact_hours": "8"}, "first_contact_hours"),
        ({"first_contact_hours": True}, "first_contact_hours"),
        ({"close_hours": 5000}, "close_hours"),
        ({"close_hours": 4}, "close_hours"),
        ({"warn_before_hours": -1}, "warn_before_hours"),
        ({"warn_before_hours": 8}, "warn_before_hours"),
    ],
)
def test_a_target_that_makes_no_sense_is_refused_naming_the_field(bank, change, field):
    values = {
        "priority": "normal",
        "first_contact_hours": 8,
        "close_hours": 40,
        "warn_before_hours": 2,
        **change,
    }
    with pytest.raises(ValidationFailed) as refused:
        sla_target_set(scope=bank.analyst, **values)
    assert [e.field for e in refused.value.errors] == [field]
    assert not SlaTarget.objects.exists()


@pytest.mark.parametrize("role", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_change_targets_and_the_calendar(bank, role):
    scope = bank.scope(bank.world.users_by_role[role])
    with pytest.raises(PermissionDenied):
        sla_target_set(
            scope=scope,
            priority="normal",
            first_contact_hours=1,
            close_hours=2,
            warn_before_hours=0,
        )
    with pytest.raises(PermissionDenied):
        sla_target_reset(scope=scope, priority="normal")
    with pytest.raises(PermissionDenied):
        business_calendar_set(scope=scope, calendar={"time_zone": "UTC", "hours": WEEKDAYS})
    with pytest.raises(PermissionDenied):
        business_calendar_reset(scope=scope)
    assert not SlaTarget.objects.exists()
    assert not LoopSettings.objects.exclude(business_calendar={}).exists()


# The calendar ------------------------------------------------------------------------------------


def test_the_calendar_is_stored_as_set_and_read_back(bank):
    document = {
        "time_zone": BUCHAREST,
        "hours": {**WEEKDAYS, "sat": [{"start": "10:00", "end": "14:00"}]},
        "holidays": ["2026-12-25", "2026-12-26"],
        "special_days": [{"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]}],
    }
    business_calendar_set(scope=bank.analyst, calendar=document)

    setting = business_calendar_get(scope=bank.scope(bank.world.frontline))

    assert setting.is_default is False
    assert setting.calendar.to_json() == document
    assert AuditEvent.objects.filter(action="loop.business_calendar_set").count() == 1

    business_calendar_reset(scope=bank.analyst)
    assert business_calendar_get(scope=bank.analyst).is_default is True


@pytest.mark.parametrize(
    ("calendar", "field"),
    [
        ({"time_zone": "Mars/Olympus", "hours": WEEKDAYS}, "time_zone"),
        (
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "08:00"}]}},
            "hours.mon[0].end",
        ),
        ({"time_zone": "UTC", "hours": {}}, "hours"),
        ({"time_zone": "UTC", "hours": WEEKDAYS, "holidays": ["25.12.2026"]}, "holidays[0]"),
        ({"time_zone": "UTC", "hours": WEEKDAYS, "weekends": []}, "weekends"),
        ("Monday to Friday", "calendar"),
    ],
)
def test_a_calendar_that_does_not_read_is_refused_naming_the_field(bank, calendar, field):
    with pytest.raises(ValidationFailed) as refused:
        business_calendar_set(scope=bank.analyst, calendar=calendar)
    assert [e.field for e in refused.value.errors] == [field]
    assert not LoopSettings.objects.exclude(business_calendar={}).exists()


# Reopening ---------------------------------------------------------------------------------------


def test_a_reopened_case_gets_a_fresh_closing_deadline_from_the_reopening(bank):
    case = open_case(bank, OPENED, "normal")  # Monday 5 October, 10:00 UTC, office hours
    first_contact_due, _close_due = deadlines(case)
    problem = bank.problem("waiting")
    analyst = bank.analyst
    case_transition(
        scope=analyst,
        case_id=case.pk,
        state="in_contact",
        now=datetime(2026, 10, 5, 11, tzinfo=UTC),
    )
    case_transition(
        scope=analyst, case_id=case.pk, state="resolved", now=datetime(2026, 10, 5, 12, tzinfo=UTC)
    )
    case_code_root_causes(scope=analyst, case_id=case.pk, problem_ids=[problem.pk])
    case_close(scope=analyst, case_id=case.pk, recovery_outcome="fixed")
    reopened_at = datetime(2026, 10, 14, 15, 0, tzinfo=UTC)  # a Wednesday

    case_reopen(scope=analyst, case_id=case.pk, reason="The refund never came", now=reopened_at)

    # Two hours on Wednesday, then Thursday, Friday, Monday and Tuesday, six on Wednesday.
    assert deadlines(case) == (first_contact_due, datetime(2026, 10, 21, 15, 0, tzinfo=UTC))
    assert (case.close_warned_at, case.close_breached_at) == (None, None)
