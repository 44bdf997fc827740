"""Opening cases from responses by alert rules; accounts gone silent; praise."""

from copy import deepcopy
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.models import Case, CaseEvent, CaseProblem, Praise
from sonda.loop.opening import (
    cases_open_for_response,
    cases_open_for_silence,
    loop_evaluate_response,
    praise_record_for_response,
)
from sonda.loop.rules import alert_rule_update
from sonda.loop.taxonomy import problem_mapping_set
from sonda.loop.tests.loop_helpers import DETRACTORS, OPENED, make_bank
from sonda.loop.workflow import case_close, case_code_root_causes, case_transition
from sonda.surveys.models import ResponseStatus
from sonda.surveys.responses import ResponseContext, response_save_page, response_start
from sonda.surveys.tests.factories import QUESTIONS, make_program, make_published_survey
from sonda.surveys.tests.responses_helpers import COMPLETED, store


@pytest.fixture
def bank(world):
    return make_bank(world)


RULES = {
    "loyalty": [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}],
    "score": [{"kind": "score", "question": "speed", "max": 2}],
    "answer": [{"kind": "answer", "question": "reasons", "options": ["staff"]}],
    "words": [{"kind": "words", "question": "comment", "phrases": {"ro": ["nepoliticos"]}}],
    "competitor": [{"kind": "competitor", "names": ["Banca Verde"]}],
}
# For each kind: answers that match, and answers that do not.
ANSWERS = {
    "loyalty": ({"ltr": 6}, {"ltr": 7}),
    "score": ({"ltr": 8, "speed": 2}, {"ltr": 8, "speed": 3}),
    "answer": ({"ltr": 5, "reasons": ["staff"]}, {"ltr": 5, "reasons": ["fees"]}),
    "words": (
        {"ltr": 8, "comment": "Casierul a fost NEPOLITICOS."},
        {"ltr": 8, "comment": "Casierul a fost politicos."},
    ),
    "competitor": (
        {"ltr": 9, "comment": "Mă gândesc să trec la banca verde."},
        {"ltr": 9, "comment": "Totul a fost bine."},
    ),
}


@pytest.mark.parametrize("kind", sorted(RULES))
def test_each_kind_of_condition_opens_a_case(bank, kind):
    rule = bank.rule(f"Rule {kind}", RULES[kind], priority="high")
    matching, other = ANSWERS[kind]
    response = bank.respond(matching, language="ro", unit_id=bank.world.south_branch.pk)
    case = cases_open_for_response(response_id=response.pk, now=OPENED)
    assert case is not None
    assert (case.response_id, case.alert_rule_id, case.priority, case.state) == (
        response.pk,
        rule.pk,
        "high",
        "new",
    )
    assert (case.customer_id, case.survey_id, case.program_id, case.opened_at) == (
        response.customer_id,
        bank.survey.pk,
        bank.survey.program_id,
        OPENED,
    )
    quiet = bank.respond(other, language="ro")
    assert cases_open_for_response(response_id=quiet.pk) is None
    assert Case.objects.count() == 1


def test_one_response_opens_one_case_by_the_most_urgent_rule(bank):
    bank.rule("Detractors", DETRACTORS, priority="normal", position=0)
    rude = bank.rule("Rude staff", RULES["answer"], priority="urgent", position=9)
    response = bank.respond({"ltr": 2, "reasons": ["staff"]})
    case = cases_open_for_response(response_id=response.pk, now=OPENED)
    assert case is not None
    assert (case.alert_rule_id, case.priority) == (rude.pk, "urgent")
    assert Case.objects.filter(response=response).count() == 1
    opened = CaseEvent.objects.get(case=case, kind="opened")
    assert opened.data == {"alert_rule": rude.pk, "priority": "urgent"}


def test_evaluating_again_returns_the_same_case_and_records_nothing(bank):
    bank.rule()
    response = bank.respond({"ltr": 1}, employee_id=bank.bogdan.pk)
    first = cases_open_for_response(response_id=response.pk, now=OPENED)
    assert first is not None
    events = CaseEvent.objects.count()
    again = cases_open_for_response(response_id=response.pk, now=OPENED + timedelta(hours=1))
    assert again is not None
    assert again.pk == first.pk
    assert (Case.objects.count(), CaseEvent.objects.count()) == (1, events)


def test_a_closed_case_is_not_opened_again(bank):
    waiting = bank.problem("waiting")
    case = bank.case({"ltr": 1})
    case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact")
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk])
    case_transition(scope=bank.analyst, case_id=case.pk, state="resolved")
    case_close(scope=bank.analyst, case_id=case.pk, recovery_outcome="fixed")
    again = cases_open_for_response(response_id=case.response_id)
    assert again is not None
    assert (again.pk, again.state, Case.objects.count()) == (case.pk, "closed", 1)


def test_no_case_without_a_matching_active_rule(bank):
    rule = bank.rule()
    promoter = bank.respond({"ltr": 10})
    assert cases_open_for_response(response_id=promoter.pk) is None
    alert_rule_update(scope=bank.analyst, rule_id=rule.pk, is_active=False)
    detractor = bank.respond({"ltr": 0})
    assert cases_open_for_response(response_id=detractor.pk) is None
    assert Case.objects.count() == 0


def test_a_rule_for_another_survey_or_program_does_not_apply(bank):
    other_program = make_program(bank.analyst, name="Call centre")
    other_survey = make_published_survey(bank.analyst, program=other_program, name="After a call")
    bank.rule("Call centre detractors", DETRACTORS, program_id=other_program.pk)
    bank.rule("Other survey detractors", DETRACTORS, survey_id=other_survey.pk)
    response = bank.respond({"ltr": 0})
    assert cases_open_for_response(response_id=response.pk) is None


def test_a_partial_response_opens_nothing(bank):
    bank.rule()
    response = response_start(
        survey=bank.survey, context=ResponseContext(language="en"), now=COMPLETED
    )
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "0"})
    response.refresh_from_db()
    assert response.status == ResponseStatus.PARTIAL
    assert cases_open_for_response(response_id=response.pk) is None


def test_opening_a_case_takes_a_bounded_number_of_queries(bank):
    for n in range(5):
        bank.rule(f"Rule {n}", RULES["answer"] if n % 2 else DETRACTORS, position=n)
    response = bank.respond({"ltr": 2, "reasons": ["staff"]}, employee_id=bank.bogdan.pk)
    with CaptureQueriesContext(connection) as queries:
        cases_open_for_response(response_id=response.pk, now=OPENED)
    # The same however many rules there are; two of them read the SLA calendar and targets,
    # three tell the owner (who is a member, the notification) and look for webhook endpoints.
    assert len(queries) <= 18


# Non-response ------------------------------------------------------------------------------------


def test_an_account_that_stopped_answering_gets_a_case_once_per_silence(bank):
    rule = bank.rule(
        "Silent accounts",
        [{"kind": "non_response", "days": 90}],
        priority="high",
        program_id=bank.survey.program_id,
    )
    silent = CustomerFactory(organisation=bank.world.org, full_name="Transport SRL")
    talking = CustomerFactory(organisation=bank.world.org, full_name="Logistica SA")
    blocked = CustomerFactory(organisation=bank.world.org, do_not_contact=True)
    long_ago = COMPLETED - timedelta(days=120)
    south = bank.world.south_branch.pk
    bank.respond({"ltr": 8}, customer_id=silent.pk, unit_id=south, completed_at=long_ago)
    bank.respond({"ltr": 8}, customer_id=blocked.pk, completed_at=long_ago)
    bank.respond({"ltr": 8}, customer_id=talking.pk, completed_at=long_ago)
    bank.respond({"ltr": 8}, customer_id=talking.pk, completed_at=COMPLETED)
    now = COMPLETED + timedelta(days=10)

    opened = cases_open_for_silence(organisation_id=bank.world.org.pk, now=now)

    assert [(c.customer_id, c.silent_since, c.response_id) for c in opened] == [
        (silent.pk, long_ago, None)
    ]
    case = opened[0]
    assert (case.alert_rule_id, case.priority, case.owner_id, case.unit_id) == (
        rule.pk,
        "high",
        bank.world.manager_south.pk,
        south,
    )
    assert list(case.events.values_list("kind", flat=True)) == ["opened", "routed"]
    assert cases_open_for_silence(organisation_id=bank.world.org.pk, now=now) == []

    # The account answers again, then falls silent again: a new silence, a new case.
    bank.respond({"ltr": 7}, customer_id=silent.pk, completed_at=now)
    later = now + timedelta(days=91)
    again = cases_open_for_silence(organisation_id=bank.world.org.pk, now=later)
    assert [(c.customer_id, c.silent_since) for c in again] == [
        (silent.pk, now),
        (talking.pk, COMPLETED),
    ]
    assert Case.objects.filter(customer=silent).count() == 2


def test_praise_goes_to_the_employee_a_promoter_names(bank):
    colleague = bank.ioana
    context_praise = bank.respond({"ltr": 10}, employee_id=bank.bogdan.pk)
    praise = praise_record_for_response(response_id=context_praise.pk)
    assert [(p.employee_id, p.source) for p in praise] == [(bank.bogdan.pk, "context")]
    named = bank.respond(
        {"ltr": 9, "comment": "Doamna ioana MARIN a fost minunată!"},
        unit_id=bank.world.south_branch.pk,
        language="ro",
    )
    praise = praise_record_for_response(response_id=named.pk)
    assert [(p.employee_id, p.source) for p in praise] == [(colleague.pk, "text")]
    again = praise_record_for_response(response_id=named.pk)
    assert [p.pk for p in again] == [praise[0].pk]
    detractor = bank.respond({"ltr": 3}, employee_id=bank.bogdan.pk)
    assert praise_record_for_response(response_id=detractor.pk) == []
    assert Praise.objects.count() == 2


def test_evaluating_a_response_opens_its_case_and_records_its_praise(bank):
    bank.rule()
    detractor = bank.respond({"ltr": 1}, employee_id=bank.bogdan.pk)
    promoter = bank.respond({"ltr": 10}, employee_id=bank.bogdan.pk)
    assert loop_evaluate_response(response_id=detractor.pk, now=OPENED) is not None
    assert loop_evaluate_response(response_id=promoter.pk, now=OPENED) is None
    assert list(Praise.objects.values_list("response_id", "employee_id")) == [
        (promoter.pk, bank.bogdan.pk)
    ]
    assert CaseProblem.objects.count() == 0


def test_an_option_written_with_a_problem_code_codes_the_case(bank):
    waiting = bank.problem("waiting", frontline_fixable=True)
    queue = bank.problem("queue", frontline_fixable=True)
    questions = deepcopy(QUESTIONS)
    questions[1]["options"][0]["problem"] = "waiting"
    survey = make_published_survey(
        bank.analyst,
        program=bank.survey.program,
        name="Coded in the builder",
        questions=questions,
    )
    bank.rule()

    def coded_case():
        response = store(survey, {"ltr": 3, "reasons": ["waiting", "fees"]}, language="en")
        case = cases_open_for_response(response_id=response.pk)
        assert case is not None
        return list(case.problems.values_list("problem_id", flat=True))

    assert coded_case() == [waiting.pk]
    # A mapping made in the taxonomy beats the code written on the option.
    problem_mapping_set(
        scope=bank.analyst,
        survey_id=survey.pk,
        question_key="reasons",
        option_code="waiting",
        problem_id=queue.pk,
    )
    assert coded_case() == [queue.pk]
