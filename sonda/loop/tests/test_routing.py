"""Routing: the inner loop's owner, the outer loop's function, and reassignment with a reason."""

import pytest

from sonda.accounts.tests.factories import UserFactory
from sonda.core.errors import Conflict, ValidationFailed
from sonda.loop.models import CaseEvent
from sonda.loop.routing import CodedProblem, case_reassign, loop_decision, owner_route
from sonda.loop.selectors import case_workload, function_cases_by_problem
from sonda.loop.taxonomy import problem_mapping_set
from sonda.loop.tests.loop_helpers import make_bank
from sonda.loop.workflow import case_code_root_causes
from sonda.org.tests.factories import PersonFactory


@pytest.fixture
def bank(world):
    return make_bank(world)


def routed(case):
    event = CaseEvent.objects.get(case=case, kind="routed")
    return (case.owner_id, case.queue, event.data["via"])


def test_a_case_about_an_employee_goes_to_their_direct_supervisor(bank):
    case = bank.case(employee_id=bank.bogdan.pk, unit_id=bank.world.north_branch.pk)
    assert routed(case) == (bank.world.manager_north.pk, False, "supervisor")
    assert (case.loop, case.owner_function_id) == ("inner", None)
    assert (case.employee_id, case.unit_id, case.unit_path) == (
        bank.bogdan.pk,
        bank.world.north_branch.pk,
        bank.world.north_branch.path,
    )


def test_an_employee_without_a_supervisor_routes_to_the_unit_manager(bank):
    case = bank.case(employee_id=bank.ioana.pk)  # the unit comes from the employee
    assert routed(case) == (bank.world.manager_south.pk, False, "unit_manager")
    assert case.unit_id == bank.world.south_branch.pk


def test_a_case_naming_nobody_routes_to_the_unit_manager(bank):
    case = bank.case(unit_id=bank.world.south_branch.pk)
    assert routed(case) == (bank.world.manager_south.pk, False, "unit_manager")


def test_with_neither_supervisor_nor_unit_manager_the_case_waits_in_the_queue(bank):
    case = bank.case(unit_id=bank.world.north_branch.pk)
    assert routed(case) == (None, True, "queue")
    no_unit = bank.case()
    assert routed(no_unit) == (None, True, "queue")


def test_a_supervisor_without_an_account_here_is_passed_over(bank):
    offline = PersonFactory(organisation=bank.world.org, unit=bank.world.south_branch)
    stranger = UserFactory(email="nomember@banca.example")  # a user with no membership here
    unmembered = PersonFactory(
        organisation=bank.world.org, unit=bank.world.south_branch, user=stranger
    )
    for supervisor in (offline, unmembered):
        employee = PersonFactory(
            organisation=bank.world.org, unit=bank.world.south_branch, supervisor=supervisor
        )
        case = bank.case(employee_id=employee.pk)
        assert routed(case) == (bank.world.manager_south.pk, False, "unit_manager")


def test_a_case_never_goes_to_the_employee_it_is_about(bank):
    case = bank.case(employee_id=bank.sorin.pk, unit_id=bank.world.south_branch.pk)
    assert routed(case) == (None, True, "queue")


def test_owner_route_tries_supervisor_then_manager_then_queue():
    assert (
        owner_route(
            supervisor_user_id=1, manager_user_id=2, employee_user_id=None, eligible={1, 2}
        ).owner_id
        == 1
    )
    assert (
        owner_route(
            supervisor_user_id=1, manager_user_id=2, employee_user_id=None, eligible={2}
        ).owner_id
        == 2
    )
    assert (
        owner_route(
            supervisor_user_id=None, manager_user_id=2, employee_user_id=2, eligible={2}
        ).via
        == "queue"
    )


def test_loop_decision_follows_the_coded_problems():
    fixable = CodedProblem(problem_id=1, frontline_fixable=True, owner_function_id=None)
    systemic = CodedProblem(problem_id=2, frontline_fixable=False, owner_function_id=7)
    orphan = CodedProblem(problem_id=3, frontline_fixable=False, owner_function_id=None)
    assert loop_decision(concerns_employee=False, problems=[]) == ("inner", None)
    assert loop_decision(concerns_employee=False, problems=[systemic]) == ("outer", 7)
    assert loop_decision(concerns_employee=True, problems=[systemic]) == ("inner", 7)
    assert loop_decision(concerns_employee=False, problems=[fixable, systemic]) == ("inner", 7)
    assert loop_decision(concerns_employee=False, problems=[orphan, systemic]) == ("outer", 7)
    assert loop_decision(concerns_employee=False, problems=[orphan]) == ("outer", None)


def test_coding_a_problem_the_frontline_cannot_fix_links_the_case_to_its_function(bank):
    billing = bank.function("Billing")
    wrong_bill = bank.problem("billing.wrong", owner_function_id=billing.pk)
    case = bank.case(unit_id=bank.world.south_branch.pk)
    sorin = bank.scope(bank.world.manager_south)

    case_code_root_causes(scope=sorin, case_id=case.pk, problem_ids=[wrong_bill.pk])

    case.refresh_from_db()
    assert (case.loop, case.owner_function_id, case.owner_id) == (
        "outer",
        billing.pk,
        bank.world.manager_south.pk,
    )
    linked = CaseEvent.objects.get(case=case, kind="linked")
    assert linked.data == {"from_function": None, "to_function": billing.pk}
    assert linked.actor_id == bank.world.manager_south.pk


def test_a_case_about_an_employee_stays_in_the_inner_loop_when_also_linked(bank):
    it = bank.function("IT")
    app_down = bank.problem("app.down", owner_function_id=it.pk)
    case = bank.case(employee_id=bank.bogdan.pk)
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[app_down.pk])
    case.refresh_from_db()
    assert (case.loop, case.owner_function_id) == ("inner", it.pk)


def test_recoding_to_a_frontline_problem_unlinks_the_function(bank):
    billing = bank.function("Billing")
    wrong_bill = bank.problem("billing.wrong", owner_function_id=billing.pk)
    rude = bank.problem("staff.rude", frontline_fixable=True)
    case = bank.case(unit_id=bank.world.south_branch.pk)
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[wrong_bill.pk])
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[rude.pk])
    case.refresh_from_db()
    assert (case.loop, case.owner_function_id) == ("inner", None)
    assert list(
        CaseEvent.objects.filter(case=case, kind="linked").values_list("data", flat=True)
    ) == [
        {"from_function": None, "to_function": billing.pk},
        {"from_function": billing.pk, "to_function": None},
    ]


def test_mapped_reasons_code_and_route_the_case_when_it_opens(bank):
    fees_owner = bank.function("Pricing")
    fees = bank.problem("fees", owner_function_id=fees_owner.pk)
    staff = bank.problem("staff", frontline_fixable=True)
    problem_mapping_set(
        scope=bank.analyst, question_key="reasons", option_code="fees", problem_id=fees.pk
    )
    problem_mapping_set(
        scope=bank.analyst,
        survey_id=bank.survey.pk,
        question_key="reasons",
        option_code="staff",
        problem_id=staff.pk,
    )
    systemic = bank.case({"ltr": 2, "reasons": ["fees", "waiting"]})
    assert (systemic.loop, systemic.owner_function_id) == ("outer", fees_owner.pk)
    assert list(systemic.problems.values_list("problem__code", "source")) == [("fees", "answer")]
    both = bank.case({"ltr": 2, "reasons": ["fees", "staff"]})
    assert (both.loop, both.owner_function_id) == ("inner", fees_owner.pk)


def test_reassigning_needs_a_reason_and_goes_on_the_timeline(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    maria = bank.scope(bank.world.manager_north)
    with pytest.raises(ValidationFailed) as refused:
        case_reassign(scope=maria, case_id=case.pk, owner_id=bank.world.analyst.pk, reason=" ")
    assert [e.field for e in refused.value.errors] == ["reason"]
    case.refresh_from_db()
    assert (case.owner_id, case.version) == (bank.world.manager_north.pk, 1)

    moved = case_reassign(
        scope=maria,
        case_id=case.pk,
        owner_id=bank.world.analyst.pk,
        reason="Maria is on leave this week",
    )
    assert (moved.owner_id, moved.version) == (bank.world.analyst.pk, 2)
    event = CaseEvent.objects.get(case=case, kind="reassigned")
    assert (event.actor_id, event.text, event.data) == (
        bank.world.manager_north.pk,
        "Maria is on leave this week",
        {
            "from_owner": bank.world.manager_north.pk,
            "to_owner": bank.world.analyst.pk,
            "via": "manual",
        },
    )


def test_assigning_from_the_queue_takes_the_case_out_of_it(bank):
    case = bank.case()
    assert case.queue
    taken = case_reassign(
        scope=bank.analyst,
        case_id=case.pk,
        owner_id=bank.world.manager_north.pk,
        reason="North covers customers without a branch",
    )
    assert (taken.owner_id, taken.queue) == (bank.world.manager_north.pk, False)
    assert CaseEvent.objects.filter(case=case, kind="assigned").count() == 1


def test_a_case_cannot_be_given_to_its_employee_nor_to_a_stranger(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    for owner_id in (bank.bogdan.user_id, bank.world.outsider.pk, 10_000):
        with pytest.raises(ValidationFailed) as refused:
            case_reassign(scope=bank.analyst, case_id=case.pk, owner_id=owner_id, reason="x")
        assert [e.field for e in refused.value.errors] == ["owner_id"]
    with pytest.raises(Conflict):
        case_reassign(
            scope=bank.analyst, case_id=case.pk, owner_id=bank.world.manager_north.pk, reason="x"
        )
    case.refresh_from_db()
    assert (case.owner_id, case.version) == (bank.world.manager_north.pk, 1)


def test_the_workload_counts_open_cases_per_owner(bank):
    bank.case(employee_id=bank.bogdan.pk)
    bank.case(employee_id=bank.bogdan.pk)
    bank.case(employee_id=bank.ioana.pk)
    bank.case()
    assert case_workload(scope=bank.analyst) == [
        {"owner_id": bank.world.manager_north.pk, "open": 2, "new": 2},
        {"owner_id": bank.world.manager_south.pk, "open": 1, "new": 1},
        {"owner_id": None, "open": 1, "new": 1},
    ]


def test_a_function_sees_its_cases_grouped_by_problem(bank):
    billing = bank.function("Billing")
    wrong = bank.problem("billing.wrong", owner_function_id=billing.pk)
    late = bank.problem("billing.late", owner_function_id=billing.pk)
    for problems in ([wrong], [wrong], [late, wrong], [late]):
        case = bank.case(unit_id=bank.world.south_branch.pk)
        case_code_root_causes(
            scope=bank.analyst, case_id=case.pk, problem_ids=[p.pk for p in problems]
        )
    assert function_cases_by_problem(scope=bank.analyst, function_id=billing.pk) == [
        {"problem_id": wrong.pk, "total": 3, "open": 3},
        {"problem_id": late.pk, "total": 2, "open": 2},
    ]
