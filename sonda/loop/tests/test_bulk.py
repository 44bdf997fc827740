"""Opening many responses' cases at once: the same cases as one by one, once each."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.bulk import cases_open_bulk, rows_insert
from sonda.loop.models import Case, CaseEvent, CaseProblem, Notification
from sonda.loop.opening import cases_open_for_response
from sonda.loop.sla import sla_target_set
from sonda.loop.taxonomy import function_update, problem_mapping_set
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.workflow import case_transition
from sonda.surveys.models import Response
from sonda.surveys.responses import ResponseContext, response_save_page, response_start
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import COMPLETED, store


@pytest.fixture
def bank(world):
    return make_bank(world)


def _rules_and_taxonomy(bank: Any) -> None:
    """Rules of every kind and priority, and options coded with systemic and frontline problems."""
    bank.rule("Detractors", priority="normal")
    bank.rule(
        "Rude",
        [{"kind": "words", "phrases": {"en": ["rude"], "ro": ["nepoliticos*"]}}],
        priority="high",
    )
    bank.rule(
        "Staff ticked",
        [{"kind": "answer", "question": "reasons", "options": ["staff"]}],
        priority="urgent",
    )
    bank.rule("Slow", [{"kind": "score", "question": "speed", "max": 1}], priority="low")
    bank.rule("Competitor", [{"kind": "competitor", "names": ["Banca Verde"]}], priority="high")
    operations = bank.function("Operations")
    pricing = bank.function("Pricing")
    function_update(scope=bank.analyst, function_id=pricing.pk, is_active=False)
    waiting = bank.problem("waiting", owner_function_id=operations.pk)
    staff = bank.problem("staff", frontline_fixable=True)
    fees = bank.problem("fees", owner_function_id=pricing.pk)
    for option, problem in (("waiting", waiting), ("staff", staff), ("fees", fees)):
        problem_mapping_set(
            scope=bank.analyst, question_key="reasons", option_code=option, problem_id=problem.pk
        )
    sla_target_set(
        scope=bank.analyst,
        priority="urgent",
        first_contact_hours=2,
        close_hours=6,
        warn_before_hours=1,
    )


def _responses(bank: Any) -> list[Response]:
    """Detractors, passives and promoters about employees with and without a supervisor, units
    with and without a manager, and no one at all."""
    world = bank.world
    north, south = world.north_branch.pk, world.south_branch.pk
    given = [
        ({"ltr": 3, "reasons": ["waiting", "fees"]}, {"employee_id": bank.bogdan.pk}),
        ({"ltr": 5, "reasons": ["staff"]}, {"employee_id": bank.ioana.pk, "unit_id": south}),
        ({"ltr": 2, "reasons": ["fees"]}, {"unit_id": world.north.pk}),
        ({"ltr": 8, "comment": "The cashier was RUDE."}, {"unit_id": north, "language": "en"}),
        ({"ltr": 9, "comment": "Perfect."}, {"employee_id": bank.bogdan.pk}),
        ({"ltr": 4}, {"employee_id": world.frontline_person.pk}),
        ({"ltr": 7, "speed": 1}, {"unit_id": south}),
        ({"ltr": 6, "comment": "Casierul a fost nepoliticos."}, {"language": "ro"}),
        ({"ltr": 10, "comment": "Trec la Banca Verde."}, {"language": "ro", "unit_id": south}),
        ({"ltr": 0, "reasons": ["waiting"]}, {"employee_id": bank.maria.pk}),
        ({"ltr": 7}, {}),
    ]
    return [bank.respond(answers, **context) for answers, context in given]


def snapshot(organisation_id: int) -> list[tuple[Any, ...]]:
    """Every case of the organisation with its timeline and codings, by response."""
    rows = []
    for case in Case.objects.filter(organisation_id=organisation_id).order_by("response_id"):
        events = [
            (e.kind, e.actor_id, e.text, e.data, e.at)
            for e in CaseEvent.objects.filter(case=case).order_by("at", "id")
        ]
        codings = [
            (c.problem_id, c.source, c.note, c.coded_by_id)
            for c in CaseProblem.objects.filter(case=case).order_by("id")
        ]
        rows.append(
            (
                case.response_id,
                case.program_id,
                case.survey_id,
                case.customer_id,
                case.unit_id,
                case.unit_path,
                case.employee_id,
                case.alert_rule_id,
                case.priority,
                case.state,
                case.loop,
                case.owner_id,
                case.owner_function_id,
                case.queue,
                case.opened_at,
                case.first_contact_due,
                case.close_due,
                case.version,
                case.escalation_level,
                case.recovery_outcome,
                events,
                codings,
            )
        )
    return rows


def test_the_bulk_path_opens_the_very_cases_the_single_path_opens(bank):
    _rules_and_taxonomy(bank)
    responses = _responses(bank)
    organisation_id = bank.world.org.pk
    with transaction.atomic():
        for response in responses:
            cases_open_for_response(response_id=response.pk, now=OPENED)
        one_by_one = snapshot(organisation_id)
        transaction.set_rollback(True)
    assert not Case.objects.exists()

    result = cases_open_bulk(
        organisation_id=organisation_id, response_ids=[r.pk for r in responses], now=OPENED
    )

    assert snapshot(organisation_id) == one_by_one
    assert (result.evaluated, result.opened, result.already) == (11, 9, 0)
    assert result.by_priority == {"urgent": 1, "high": 3, "normal": 4, "low": 1}
    cases = {c.response_id: c for c in Case.objects.all()}
    # The rows say what the single path decided: owners, queue, loops, functions, priorities.
    bogdan_case = cases[responses[0].pk]
    assert (bogdan_case.owner_id, bogdan_case.loop, bogdan_case.priority) == (
        bank.world.manager_north.pk,
        "inner",
        "normal",
    )
    assert bogdan_case.owner_function is not None
    assert bogdan_case.owner_function.name == "Operations"
    ioana_case = cases[responses[1].pk]
    assert (ioana_case.owner_id, ioana_case.priority) == (bank.world.manager_south.pk, "urgent")
    unit_only = cases[responses[2].pk]
    assert (unit_only.queue, unit_only.owner_id, unit_only.loop) == (True, None, "outer")
    assert unit_only.owner_function_id is None  # the pricing function is inactive
    assert cases[responses[5].pk].owner_id == bank.bogdan.user_id
    assert responses[4].pk not in cases
    assert responses[10].pk not in cases
    assert ioana_case.close_due is not None
    assert ioana_case.first_contact_due is not None
    assert ioana_case.first_contact_due < ioana_case.close_due


def test_a_cursor_range_evaluates_the_organisations_completed_responses_after_it(bank):
    _rules_and_taxonomy(bank)
    responses = _responses(bank)
    organisation_id = bank.world.org.pk
    partial = response_start(
        survey=bank.survey,
        context=ResponseContext(
            language="en", customer_id=CustomerFactory(organisation=bank.world.org).pk
        ),
    )
    response_save_page(response_id=partial.pk, page=1, raw={"ltr": "1"})
    other = make_published_survey(bank.world.scope(bank.world.outsider, bank.world.other_org))
    elsewhere = store(other, {"ltr": 1}, language="en")

    result = cases_open_bulk(
        organisation_id=organisation_id, after_id=responses[1].pk, now=OPENED, chunk=3
    )

    opened = set(Case.objects.values_list("response_id", flat=True))
    assert opened == {r.pk for i, r in enumerate(responses) if i in {2, 3, 5, 6, 7, 8, 9}}
    assert (result.evaluated, result.opened) == (9, 7)
    assert partial.pk not in opened
    assert elsewhere.pk not in opened
    assert not Case.objects.filter(organisation=bank.world.other_org).exists()

    up_to = cases_open_bulk(
        organisation_id=organisation_id, after_id=0, up_to_id=responses[0].pk, now=OPENED
    )
    assert (up_to.evaluated, up_to.opened) == (1, 1)
    assert Case.objects.filter(response=responses[0]).exists()
    assert not Case.objects.filter(response=responses[1]).exists()


def test_running_it_twice_opens_nothing_more_and_leaves_the_cases_as_they_were(bank):
    _rules_and_taxonomy(bank)
    responses = _responses(bank)
    organisation_id = bank.world.org.pk
    ids = [r.pk for r in responses]
    first = cases_open_bulk(organisation_id=organisation_id, response_ids=ids, now=OPENED)
    before = snapshot(organisation_id)
    counts = (Case.objects.count(), CaseEvent.objects.count(), CaseProblem.objects.count())

    again = cases_open_bulk(
        organisation_id=organisation_id, response_ids=ids + ids, now=OPENED + timedelta(days=1)
    )

    assert first.opened == 9
    assert (again.evaluated, again.opened, again.already) == (11, 0, 9)
    assert snapshot(organisation_id) == before
    assert (Case.objects.count(), CaseEvent.objects.count(), CaseProblem.objects.count()) == counts


def test_a_response_whose_case_the_single_path_opened_and_worked_is_left_alone(bank):
    _rules_and_taxonomy(bank)
    responses = _responses(bank)
    worked = cases_open_for_response(response_id=responses[1].pk, now=OPENED)
    assert worked is not None
    case_transition(
        scope=bank.scope(bank.world.manager_south),
        case_id=worked.pk,
        state="in_contact",
        now=OPENED + timedelta(hours=1),
    )

    result = cases_open_bulk(
        organisation_id=bank.world.org.pk, response_ids=[r.pk for r in responses], now=OPENED
    )

    assert (result.opened, result.already) == (8, 1)
    worked.refresh_from_db()
    assert (worked.state, worked.version) == ("in_contact", 2)
    assert Case.objects.filter(response=responses[1]).count() == 1


def test_backfilled_cases_open_as_the_sweep_would_have_opened_them(bank):
    _rules_and_taxonomy(bank)
    responses = _responses(bank)
    result = cases_open_bulk(
        organisation_id=bank.world.org.pk,
        response_ids=[r.pk for r in responses],
        opened_after_completion=timedelta(minutes=1),
    )
    assert result.opened == 9
    for case in Case.objects.all():
        assert case.opened_at == COMPLETED + timedelta(minutes=1)
        assert case.first_contact_due is not None
        assert case.first_contact_due > case.opened_at
        assert set(CaseEvent.objects.filter(case=case).values_list("at", flat=True)) == {
            case.opened_at
        }


def test_a_bulk_run_announces_nothing_and_opens_nothing_without_rules(bank):
    responses = _responses(bank)
    ids = [r.pk for r in responses]
    assert cases_open_bulk(organisation_id=bank.world.org.pk, response_ids=ids).opened == 0
    assert not Case.objects.exists()
    _rules_and_taxonomy(bank)
    cases_open_bulk(organisation_id=bank.world.org.pk, response_ids=ids, now=OPENED)
    assert Case.objects.count() == 9
    assert not Notification.objects.exists()


def test_the_queries_do_not_grow_with_the_responses_of_a_chunk(bank):
    _rules_and_taxonomy(bank)
    few = _responses(bank)[:3]
    with CaptureQueriesContext(connection) as small:
        cases_open_bulk(organisation_id=bank.world.org.pk, response_ids=[r.pk for r in few])
    many = _responses(bank)
    with CaptureQueriesContext(connection) as large:
        cases_open_bulk(organisation_id=bank.world.org.pk, response_ids=[r.pk for r in many])
    assert len(large) == len(small)


def test_a_case_row_for_a_response_that_has_a_case_is_not_written_again(bank):
    """What keeps a bulk run from duplicating a case the sweep opened between read and write."""
    bank.rule()
    response = bank.respond({"ltr": 2})
    case = cases_open_for_response(response_id=response.pk, now=OPENED)
    assert case is not None
    row = {
        "organisation_id": bank.world.org.pk,
        "response_id": response.pk,
        "survey_id": bank.survey.pk,
        "opened_at": OPENED,
    }
    written = rows_insert(
        Case,
        [row],
        stamp=OPENED,
        on_conflict="(response_id) WHERE response_id IS NOT NULL DO NOTHING",
        returning=("id",),
    )
    assert written == []
    assert list(Case.objects.values_list("pk", flat=True)) == [case.pk]


def test_only_the_responses_named_are_evaluated(bank):
    _rules_and_taxonomy(bank)
    first = bank.respond({"ltr": 1})
    between = [bank.respond({"ltr": 2}) for _ in range(5)]
    last = bank.respond({"ltr": 3, "reasons": ["waiting"]})

    result = cases_open_bulk(
        organisation_id=bank.world.org.pk, response_ids=[last.pk, first.pk], now=OPENED
    )

    assert (result.evaluated, result.opened) == (2, 2)
    assert set(Case.objects.values_list("response_id", flat=True)) == {first.pk, last.pk}
    assert not Case.objects.filter(response__in=between).exists()
    coded = CaseProblem.objects.get(case__response=last)
    assert coded.problem.code == "waiting"
