"""Writing alert rules and the problem taxonomy: validation naming the field, roles, audit."""

import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from sonda.loop.models import AlertRule, Function, Problem, ProblemMapping
from sonda.loop.rules import alert_rule_create, alert_rule_delete, alert_rule_update
from sonda.loop.selectors import alert_rule_get, alert_rule_list, problem_list
from sonda.loop.taxonomy import (
    function_create,
    function_update,
    problem_create,
    problem_mapping_delete,
    problem_mapping_set,
    problem_update,
    taxonomy_languages,
)
from sonda.loop.tests.loop_helpers import DETRACTORS, LABELS, make_bank
from sonda.surveys.tests.factories import make_program


@pytest.fixture
def bank(world):
    return make_bank(world)


def fields(excinfo) -> list[str]:
    return [e.field for e in excinfo.value.errors]


# Alert rules -------------------------------------------------------------------------------------


def test_a_rule_is_stored_as_validated_and_audited(bank):
    rule = bank.rule(
        "Rude staff",
        [
            {"kind": "answer", "question": "reasons", "options": ["staff"]},
            {"kind": "words", "phrases": {"en": [" rude "]}},
        ],
        priority="urgent",
        survey_id=bank.survey.pk,
    )
    rule.refresh_from_db()
    assert (rule.program_id, rule.survey_id, rule.priority, rule.is_active) == (
        bank.survey.program_id,
        bank.survey.pk,
        "urgent",
        True,
    )
    assert rule.conditions == [
        {"kind": "answer", "question": "reasons", "options": ["staff"]},
        {"kind": "words", "question": None, "phrases": {"en": ["rude"]}},
    ]
    assert AuditEvent.objects.filter(action="loop.alert_rule_created").count() == 1


def test_a_rule_about_a_survey_must_name_what_the_survey_asks(bank):
    with pytest.raises(ValidationFailed) as refused:
        bank.rule(
            "Wrong",
            [
                {"kind": "loyalty", "question": "speed", "classes": ["detractor"]},
                {"kind": "answer", "question": "reasons", "options": ["staff", "parking"]},
                {"kind": "score", "question": "comment", "max": 2},
                {"kind": "words", "question": "nothing", "phrases": {"en": ["rude"]}},
                {"kind": "competitor", "question": "reasons", "names": ["ING"]},
            ],
            survey_id=bank.survey.pk,
        )
    assert fields(refused) == [
        "conditions[0].question",
        "conditions[1].options[1]",
        "conditions[2].question",
        "conditions[3].question",
        "conditions[4].question",
    ]
    assert AlertRule.objects.count() == 0


def test_a_non_response_rule_needs_a_program(bank):
    with pytest.raises(ValidationFailed) as refused:
        bank.rule("Silent", [{"kind": "non_response", "days": 60}])
    assert fields(refused) == ["program_id"]


def test_a_survey_of_another_program_is_refused(bank):
    other = make_program(bank.analyst, name="Call centre")
    with pytest.raises(ValidationFailed) as refused:
        bank.rule(program_id=other.pk, survey_id=bank.survey.pk)
    assert fields(refused) == ["survey_id"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"priority": "asap"}, "priority"),
        ({"position": -1}, "position"),
        ({"program_id": 99_999}, "program_id"),
        ({"survey_id": 99_999}, "survey_id"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_bad_rule_fields_are_named(bank, options, field):
    with pytest.raises(ValidationFailed) as refused:
        bank.rule(**options)
    assert fields(refused) == [field]


def test_rule_names_are_unique_per_organisation(bank):
    bank.rule("Detractors")
    with pytest.raises(Conflict) as refused:
        bank.rule("Detractors")
    assert fields(refused) == ["name"]


def test_an_update_validates_the_whole_resulting_rule(bank):
    rule = bank.rule(survey_id=bank.survey.pk)
    with pytest.raises(ValidationFailed) as refused:
        alert_rule_update(
            scope=bank.analyst,
            rule_id=rule.pk,
            conditions=[{"kind": "answer", "question": "ltr", "options": ["x"]}],
        )
    assert fields(refused) == ["conditions[0].question"]
    rule.refresh_from_db()
    assert rule.conditions == DETRACTORS
    changed = alert_rule_update(scope=bank.analyst, rule_id=rule.pk, program_id=None)
    assert (changed.program_id, changed.survey_id) == (None, None)


def test_only_admins_and_analysts_write_rules_and_executives_read_them(bank):
    rule = bank.rule()
    for who in ("manager_north", "frontline", "executive"):
        scope = bank.scope(bank.world.users_by_role[who])
        with pytest.raises(PermissionDenied):
            alert_rule_create(scope=scope, name="Mine", conditions=DETRACTORS)
        with pytest.raises(PermissionDenied):
            alert_rule_update(scope=scope, rule_id=rule.pk, is_active=False)
        with pytest.raises(PermissionDenied):
            alert_rule_delete(scope=scope, rule_id=rule.pk)
    executive = bank.scope(bank.world.executive)
    assert [r.pk for r in alert_rule_list(scope=executive)] == [rule.pk]
    with pytest.raises(NotFound):
        alert_rule_get(scope=bank.scope(bank.world.manager_north), rule_id=rule.pk)
    outsider = bank.world.scope(bank.world.outsider, bank.world.other_org)
    with pytest.raises(NotFound):
        alert_rule_update(scope=outsider, rule_id=rule.pk, is_active=False)
    assert AlertRule.objects.get().is_active


def test_rules_list_in_the_order_they_win(bank):
    low = bank.rule("Low", priority="low", position=0)
    urgent = bank.rule("Urgent", priority="urgent", position=3)
    normal = bank.rule("Normal", position=1)
    assert [r.pk for r in alert_rule_list(scope=bank.analyst)] == [urgent.pk, normal.pk, low.pk]


# The taxonomy ------------------------------------------------------------------------------------


def test_a_problem_needs_a_label_in_every_survey_language(bank):
    assert taxonomy_languages(bank.analyst) == ["en", "ro", "pl"]
    with pytest.raises(ValidationFailed) as refused:
        problem_create(
            scope=bank.analyst, code="waiting", labels={"en": "Waiting", "ro": " ", "xx": "?"}
        )
    assert sorted(fields(refused)) == ["labels.pl", "labels.ro", "labels.xx"]
    assert Problem.objects.count() == 0


def test_problem_codes_are_unique_and_well_formed(bank):
    bank.problem("process.waiting")
    with pytest.raises(Conflict) as duplicate:
        bank.problem("process.waiting")
    assert fields(duplicate) == ["code"]
    with pytest.raises(ValidationFailed) as malformed:
        bank.problem("Waiting Time")
    assert fields(malformed) == ["code"]


def test_the_taxonomy_is_a_tree_without_cycles(bank):
    process = bank.problem("process")
    waiting = bank.problem("process.waiting", parent_id=process.pk)
    queue = bank.problem("process.waiting.queue", parent_id=waiting.pk)
    assert [p.code for p in problem_list(scope=bank.analyst)] == [
        "process",
        "process.waiting",
        "process.waiting.queue",
    ]
    for parent in (process, queue):
        with pytest.raises(ValidationFailed) as refused:
            problem_update(scope=bank.analyst, problem_id=process.pk, parent_id=parent.pk)
        assert fields(refused) == ["parent_id"]
    process.refresh_from_db()
    assert (process.parent_id, process.path) == (None, f"{process.pk}.")


def test_moving_a_problem_moves_its_branch(bank):
    staff = bank.problem("staff")
    process = bank.problem("process")
    waiting = bank.problem("waiting", parent_id=staff.pk)
    queue = bank.problem("queue", parent_id=waiting.pk)
    problem_update(scope=bank.analyst, problem_id=waiting.pk, parent_id=process.pk)
    waiting.refresh_from_db()
    queue.refresh_from_db()
    assert (waiting.parent_id, waiting.path, waiting.depth) == (
        process.pk,
        f"{process.pk}.{waiting.pk}.",
        1,
    )
    assert (queue.path, queue.depth) == (f"{process.pk}.{waiting.pk}.{queue.pk}.", 2)
    problem_update(scope=bank.analyst, problem_id=waiting.pk, parent_id=None)
    queue.refresh_from_db()
    assert (queue.path, queue.depth) == (f"{waiting.pk}.{queue.pk}.", 1)


def test_a_problems_owner_must_be_a_function_of_the_organisation(bank):
    with pytest.raises(ValidationFailed) as refused:
        bank.problem("billing", owner_function_id=99_999)
    assert fields(refused) == ["owner_function_id"]


def test_functions_have_unique_names_and_members_of_the_organisation(bank):
    billing = function_create(
        scope=bank.analyst,
        name="Billing",
        email="Billing@Banca.example",
        lead_id=bank.sorin.pk,
        member_ids=[bank.world.analyst.pk, bank.world.analyst.pk],
    )
    assert (billing.email, billing.lead_id) == ("billing@banca.example", bank.sorin.pk)
    assert list(billing.members.values_list("pk", flat=True)) == [bank.world.analyst.pk]
    with pytest.raises(Conflict) as duplicate:
        function_create(scope=bank.analyst, name="Billing")
    assert fields(duplicate) == ["name"]
    with pytest.raises(ValidationFailed) as stranger:
        function_update(
            scope=bank.analyst,
            function_id=billing.pk,
            member_ids=[bank.world.frontline.pk, bank.world.outsider.pk],
        )
    assert fields(stranger) == ["member_ids[1]"]
    assert list(billing.members.values_list("pk", flat=True)) == [bank.world.analyst.pk]
    with pytest.raises(ValidationFailed) as email:
        function_create(scope=bank.analyst, name="IT", email="not an address")
    assert fields(email) == ["email"]
    with pytest.raises(PermissionDenied):
        function_create(scope=bank.scope(bank.world.manager_north), name="Mine")
    assert Function.objects.count() == 1


# Mappings ----------------------------------------------------------------------------------------


def test_an_option_maps_to_one_problem_and_remapping_replaces_it(bank):
    waiting = bank.problem("waiting")
    queue = bank.problem("queue")
    first = problem_mapping_set(
        scope=bank.analyst,
        survey_id=bank.survey.pk,
        question_key="reasons",
        option_code="waiting",
        problem_id=waiting.pk,
    )
    again = problem_mapping_set(
        scope=bank.analyst,
        survey_id=bank.survey.pk,
        question_key="reasons",
        option_code="waiting",
        problem_id=queue.pk,
    )
    assert again.pk == first.pk
    assert list(ProblemMapping.objects.values_list("problem_id", flat=True)) == [queue.pk]
    problem_mapping_delete(scope=bank.analyst, mapping_id=first.pk)
    assert ProblemMapping.objects.count() == 0


@pytest.mark.parametrize(
    ("question_key", "option_code", "field"),
    [
        ("comment", "waiting", "question_key"),
        ("nothing", "waiting", "question_key"),
        ("reasons", "parking", "option_code"),
        ("Reasons!", "waiting", "question_key"),
    ],
)
def test_a_mapping_must_name_an_option_the_survey_asks(bank, question_key, option_code, field):
    waiting = bank.problem("waiting")
    with pytest.raises(ValidationFailed) as refused:
        problem_mapping_set(
            scope=bank.analyst,
            survey_id=bank.survey.pk,
            question_key=question_key,
            option_code=option_code,
            problem_id=waiting.pk,
        )
    assert fields(refused) == [field]
    assert ProblemMapping.objects.count() == 0


def test_a_mapped_problem_is_labelled_in_the_surveys_languages(bank):
    # Labelled before the survey spoke Polish (the organisation's surveys now do).
    Problem.objects.create(
        organisation=bank.world.org,
        code="old",
        labels={"en": "Old", "ro": "Vechi"},
        path="",
    )
    old = Problem.objects.get(code="old")
    with pytest.raises(ValidationFailed) as refused:
        problem_mapping_set(
            scope=bank.analyst,
            survey_id=bank.survey.pk,
            question_key="reasons",
            option_code="fees",
            problem_id=old.pk,
        )
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("problem_id", "the problem has no label in pl")
    ]
    problem_update(scope=bank.analyst, problem_id=old.pk, labels={**LABELS})
    problem_mapping_set(
        scope=bank.analyst,
        survey_id=bank.survey.pk,
        question_key="reasons",
        option_code="fees",
        problem_id=old.pk,
    )
    assert ProblemMapping.objects.count() == 1


def test_only_admins_and_analysts_change_the_taxonomy(bank):
    waiting = bank.problem("waiting")
    manager = bank.scope(bank.world.manager_north)
    with pytest.raises(PermissionDenied):
        problem_create(scope=manager, code="mine", labels=LABELS)
    with pytest.raises(PermissionDenied):
        problem_update(scope=manager, problem_id=waiting.pk, is_active=False)
    with pytest.raises(PermissionDenied):
        problem_mapping_set(
            scope=manager, question_key="reasons", option_code="waiting", problem_id=waiting.pk
        )
    assert [p.code for p in problem_list(scope=manager)] == ["waiting"]
    outsider = bank.world.scope(bank.world.outsider, bank.world.other_org)
    assert list(problem_list(scope=outsider)) == []
    with pytest.raises(NotFound):
        problem_update(scope=outsider, problem_id=waiting.pk, is_active=False)
