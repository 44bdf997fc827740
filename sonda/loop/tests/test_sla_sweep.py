"""The SLA sweep: a warning once before each deadline, escalation up the hierarchy on each missed
one, every step on the case's timeline, and nothing more when it runs again.

The organisation works Monday to Friday, 09:00–17:00 UTC (the default calendar). A normal case
opened on Monday 5 October 2026 at 10:00 is due for its first contact on Tuesday at 10:00 and
for closing on Monday 12 October at 10:00; the warning comes two working hours before each.
"""

from datetime import UTC, datetime

import pytest

from sonda.loop.models import Case, CaseEvent
from sonda.loop.sla import sla_sweep, sla_target_set
from sonda.loop.sla_tasks import SLA_PERIODIC, sweep_sla_deadlines
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import open_case
from sonda.loop.workflow import case_close, case_code_root_causes, case_reopen, case_transition
from sonda.org.tests.factories import PersonFactory

FIRST_CONTACT_DUE = datetime(2026, 10, 6, 10, 0, tzinfo=UTC)
CLOSE_DUE = datetime(2026, 10, 12, 10, 0, tzinfo=UTC)


def moment(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def bank(world):
    """The bank, with a director above Maria: the executive's person record, at head office."""
    bank = make_bank(world)
    director = PersonFactory(
        organisation=world.org, unit=world.hq, user=world.executive, full_name="Dana Director"
    )
    bank.maria.supervisor = director
    bank.maria.save(update_fields=["supervisor"])
    return bank


@pytest.fixture
def anas_case(bank) -> Case:
    """A case about Ana (frontline, North 1): Bogdan, her supervisor, calls back."""
    case = open_case(bank, OPENED, "normal", employee_id=bank.world.frontline_person.pk)
    assert case.owner == bank.bogdan.user
    return case


def sla_events(case: Case) -> list[tuple[str, dict[str, object]]]:
    return [
        (kind, data)
        for kind, data in CaseEvent.objects.filter(case=case, kind__in=["warned", "escalated"])
        .order_by("at", "id")
        .values_list("kind", "data")
    ]


def state_of(case: Case) -> tuple[object, ...]:
    case.refresh_from_db()
    return (
        case.first_contact_warned_at,
        case.first_contact_breached_at,
        case.close_warned_at,
        case.close_breached_at,
        case.escalation_level,
        case.escalated_to_id,
        case.version,
    )


# Warnings ----------------------------------------------------------------------------------------


def test_the_owner_is_warned_once_two_working_hours_before_the_first_contact_is_due(anas_case):
    # At 15:00 three working hours are left (two today, one tomorrow): too early.
    assert sla_sweep(now=moment(10, 5, 15)).warned == 0
    anas_case.refresh_from_db()
    version = anas_case.version

    result = sla_sweep(now=moment(10, 5, 16))

    assert (result.warned, result.escalated) == (1, 0)
    assert state_of(anas_case) == (moment(10, 5, 16), None, None, None, 0, None, version + 1)
    assert sla_events(anas_case) == [
        (
            "warned",
            {
                "deadline": "first_contact",
                "due": FIRST_CONTACT_DUE.isoformat(),
                "minutes_left": 120,
                "owner": anas_case.owner_id,
            },
        )
    ]
    # Later sweeps before the deadline add nothing.
    for now in (moment(10, 5, 16, 30), moment(10, 6, 9, 30)):
        assert sla_sweep(now=now).warned == 0
    assert len(sla_events(anas_case)) == 1


def test_the_warning_counts_working_time_so_it_comes_on_friday_for_a_monday_deadline(
    bank, anas_case
):
    case_transition(scope=bank.analyst, case_id=anas_case.pk, state="in_contact", now=OPENED)
    # The closing deadline is Monday 10:00: Friday 16:00 leaves one hour on Friday, one on Monday.
    assert sla_sweep(now=moment(10, 9, 15)).warned == 0
    assert sla_sweep(now=moment(10, 9, 16)).warned == 1
    assert [data["deadline"] for _kind, data in sla_events(anas_case)] == ["close"]


def test_a_priority_without_a_warning_lead_is_not_warned(bank, anas_case):
    sla_target_set(
        scope=bank.analyst,
        priority="normal",
        first_contact_hours=8,
        close_hours=40,
        warn_before_hours=0,
    )
    assert sla_sweep(now=moment(10, 6, 9, 59)).warned == 0
    assert sla_events(anas_case) == []


# Escalation --------------------------------------------------------------------------------------


def test_missed_deadlines_escalate_to_the_owners_supervisor_then_the_next_level_up(bank, anas_case):
    world = bank.world
    sla_sweep(now=moment(10, 5, 16))  # the first-contact warning

    first = sla_sweep(now=moment(10, 6, 10, 1))

    assert (first.warned, first.escalated) == (0, 1)
    anas_case.refresh_from_db()
    assert anas_case.first_contact_breached_at == moment(10, 6, 10, 1)
    # Bogdan's supervisor is Maria, the north's manager.
    assert (anas_case.escalation_level, anas_case.escalated_to) == (1, world.manager_north)
    assert anas_case.owner == bank.bogdan.user  # escalating informs; the owner keeps the case

    sla_sweep(now=moment(10, 9, 16))  # the closing warning
    second = sla_sweep(now=moment(10, 12, 10, 1))

    assert second.escalated == 1
    anas_case.refresh_from_db()
    # Maria's supervisor is the director, whose account is the executive's.
    assert (anas_case.escalation_level, anas_case.escalated_to) == (2, world.executive)
    assert anas_case.close_breached_at == moment(10, 12, 10, 1)
    assert sla_events(anas_case) == [
        (
            "warned",
            {
                "deadline": "first_contact",
                "due": FIRST_CONTACT_DUE.isoformat(),
                "minutes_left": 120,
                "owner": bank.bogdan.user_id,
            },
        ),
        (
            "escalated",
            {
                "deadline": "first_contact",
                "due": FIRST_CONTACT_DUE.isoformat(),
                "level": 1,
                "to_user": world.manager_north.pk,
                "via": "supervisor",
                "owner": bank.bogdan.user_id,
            },
        ),
        (
            "warned",
            {
                "deadline": "close",
                "due": CLOSE_DUE.isoformat(),
                "minutes_left": 120,
                "owner": bank.bogdan.user_id,
            },
        ),
        (
            "escalated",
            {
                "deadline": "close",
                "due": CLOSE_DUE.isoformat(),
                "level": 2,
                "to_user": world.executive.pk,
                "via": "supervisor",
                "owner": bank.bogdan.user_id,
            },
        ),
    ]


def test_running_the_sweep_again_changes_nothing(anas_case):
    for now in (moment(10, 5, 16), moment(10, 6, 10, 1), moment(10, 12, 10, 1)):
        sla_sweep(now=now)
        before = (state_of(anas_case), CaseEvent.objects.filter(case=anas_case).count())

        again = sla_sweep(now=now)

        assert (again.cases, again.warned, again.escalated) == (0, 0, 0)
        assert (state_of(anas_case), CaseEvent.objects.filter(case=anas_case).count()) == before


def test_a_sweep_that_comes_late_takes_every_missed_step_and_warns_of_none(bank, anas_case):
    result = sla_sweep(now=moment(10, 12, 11))

    assert (result.warned, result.escalated) == (0, 2)
    assert [
        (data["deadline"], data["level"], data["to_user"]) for _k, data in sla_events(anas_case)
    ] == [
        ("first_contact", 1, bank.world.manager_north.pk),
        ("close", 2, bank.world.executive.pk),
    ]


def test_with_nobody_above_the_step_goes_to_head_office(bank, anas_case):
    bank.maria.supervisor = None
    bank.maria.save(update_fields=["supervisor"])
    sla_sweep(now=moment(10, 12, 11))

    anas_case.refresh_from_db()
    assert (anas_case.escalation_level, anas_case.escalated_to) == (2, None)
    assert [(data["level"], data["via"]) for _k, data in sla_events(anas_case)] == [
        (1, "supervisor"),
        (2, "head_office"),
    ]


def test_a_supervisor_without_an_account_here_is_passed_over_for_the_one_above(bank, anas_case):
    world = bank.world
    director = bank.maria.supervisor
    deputy = PersonFactory(
        organisation=world.org, unit=world.north, supervisor=director, full_name="No Account"
    )
    bank.maria.supervisor = deputy
    bank.maria.save(update_fields=["supervisor"])

    sla_sweep(now=moment(10, 12, 11))

    anas_case.refresh_from_db()
    assert (anas_case.escalation_level, anas_case.escalated_to) == (2, world.executive)


def test_without_a_supervisor_on_record_the_manager_of_the_unit_above_is_next(bank):
    # Ioana (South 1) has no supervisor: Sorin, South 1's manager, owns her case.
    case = open_case(bank, OPENED, "normal", employee_id=bank.ioana.pk)
    assert case.owner == bank.world.manager_south
    world = bank.world
    world.hq.manager = PersonFactory(organisation=world.org, unit=world.hq, user=world.admin)
    world.hq.save(update_fields=["manager"])

    sla_sweep(now=moment(10, 6, 11))

    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_to) == (1, world.admin)
    assert [data["via"] for _k, data in sla_events(case)] == ["unit_manager"]


def test_a_case_waiting_in_the_queue_escalates_to_head_office(bank):
    case = open_case(bank, OPENED, "urgent", unit_id=bank.world.north_branch.pk)
    assert (case.owner, case.queue) == (None, True)

    sla_sweep(now=moment(10, 5, 12, 1))  # urgent: two working hours

    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_to) == (1, None)
    assert [(d["deadline"], d["via"], d["owner"]) for _k, d in sla_events(case)] == [
        ("first_contact", "head_office", None)
    ]


# Deadlines met or no longer counting ------------------------------------------------------------


def test_a_case_contacted_and_resolved_in_time_is_never_escalated(bank, anas_case):
    scope = bank.scope(bank.bogdan.user)
    case_transition(scope=scope, case_id=anas_case.pk, state="in_contact", now=moment(10, 5, 12))
    case_transition(scope=scope, case_id=anas_case.pk, state="resolved", now=moment(10, 8, 12))

    result = sla_sweep(now=moment(10, 20, 12))

    assert (result.warned, result.escalated) == (0, 0)
    assert sla_events(anas_case) == []


def test_contact_at_the_deadlines_very_minute_makes_it(bank, anas_case):
    case_transition(
        scope=bank.scope(bank.bogdan.user),
        case_id=anas_case.pk,
        state="in_contact",
        now=FIRST_CONTACT_DUE,
    )
    sla_sweep(now=moment(10, 6, 10, 1))
    assert state_of(anas_case)[1] is None


def test_a_reopened_case_late_again_goes_a_level_higher(bank, anas_case):
    analyst = bank.analyst
    sla_sweep(now=moment(10, 6, 11))  # first contact missed: Maria
    case_transition(scope=analyst, case_id=anas_case.pk, state="in_contact", now=moment(10, 6, 12))
    case_transition(scope=analyst, case_id=anas_case.pk, state="resolved", now=moment(10, 6, 13))
    case_code_root_causes(
        scope=analyst, case_id=anas_case.pk, problem_ids=[bank.problem("waiting").pk]
    )
    case_close(scope=analyst, case_id=anas_case.pk, recovery_outcome="fixed")
    case_reopen(scope=analyst, case_id=anas_case.pk, reason="Still wrong", now=moment(10, 14, 15))
    anas_case.refresh_from_db()
    assert anas_case.close_due == moment(10, 21, 15)

    assert sla_sweep(now=moment(10, 21, 14)).warned == 1
    assert sla_sweep(now=moment(10, 21, 15, 1)).escalated == 1

    anas_case.refresh_from_db()
    assert (anas_case.escalation_level, anas_case.escalated_to) == (2, bank.world.executive)
    assert [(d["deadline"], d.get("level")) for _k, d in sla_events(anas_case)] == [
        ("first_contact", 1),
        ("close", None),
        ("close", 2),
    ]


def test_the_sweep_of_one_organisation_leaves_the_others_alone(bank, anas_case):
    result = sla_sweep(now=moment(10, 12, 11), organisation_id=bank.world.other_org.pk)
    assert (result.cases, result.escalated) == (0, 0)
    assert sla_events(anas_case) == []


def test_the_periodic_job_sweeps_at_the_present_moment(bank, anas_case):
    # Both of the case's deadlines (October 2026) lie in the past of any run of this suite.
    assert sweep_sla_deadlines in SLA_PERIODIC

    assert sweep_sla_deadlines.call() == {"cases": 1, "warned": 0, "escalated": 2, "failed": 0}
    assert sweep_sla_deadlines.call() == {"cases": 0, "warned": 0, "escalated": 0, "failed": 0}
