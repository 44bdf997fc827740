"""The builder's services: one question at a time through the whole draft, open links on and off,
a program's kind."""

import threading

import pytest
from django.db import connection

from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.surveys import services
from sonda.surveys.definition import ConditionSpec, QuestionSpec
from sonda.surveys.models import OpenLink, Program, Question, SurveyVersion
from sonda.surveys.specs import spec_of
from sonda.surveys.tests.factories import make_program, make_published_survey

RESOLVED = QuestionSpec(
    key="resolved", kind="yes_no", text={"en": "Resolved?", "ro": "Rezolvat?", "pl": "Rozwiązane?"}
)


def draft_keys(survey) -> list[tuple[str, int]]:
    draft = SurveyVersion.objects.get(survey=survey, status="draft")
    return list(draft.questions.order_by("position").values_list("key", "page"))


def test_saving_a_question_of_a_published_survey_appends_it_to_a_new_draft(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    draft = services.survey_question_save(scope=scope, survey_id=survey.pk, question=RESOLVED)
    assert (draft.number, draft.status) == (2, "draft")
    assert draft_keys(survey) == [
        ("ltr", 1),
        ("reasons", 1),
        ("speed", 2),
        ("comment", 2),
        ("resolved", 1),
    ]
    assert SurveyVersion.objects.get(survey=survey, number=1).questions.count() == 4


def test_saving_in_place_replaces_the_question_with_that_key(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_question_save(
        scope=scope, survey_id=survey.pk, question=RESOLVED, replacing="speed"
    )
    assert draft_keys(survey) == [("ltr", 1), ("reasons", 1), ("resolved", 1), ("comment", 2)]


def test_a_question_that_breaks_the_draft_is_refused_naming_its_place(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    before = draft_keys(survey)
    bad = QuestionSpec(
        key="resolved",
        kind="yes_no",
        text={"en": "Resolved?"},
        condition=ConditionSpec(question="later", op="eq", value=1),
    )
    with pytest.raises(ValidationFailed) as error:
        services.survey_question_save(scope=scope, survey_id=survey.pk, question=bad)
    assert [(e.field, e.message) for e in error.value.errors] == [
        ("questions[4].condition.question", "must name an earlier question")
    ]
    assert draft_keys(survey) == before


def test_deleting_and_moving_name_an_existing_question(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    with pytest.raises(NotFound):
        services.survey_question_delete(scope=scope, survey_id=survey.pk, key="nothing")
    with pytest.raises(ValidationFailed) as error:
        services.survey_question_move(
            scope=scope, survey_id=survey.pk, key="ltr", direction="sideways"
        )
    assert error.value.errors[0].field == "direction"


def test_moving_down_across_a_page_joins_the_next_page(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_question_move(scope=scope, survey_id=survey.pk, key="reasons", direction="down")
    assert draft_keys(survey) == [("ltr", 1), ("reasons", 2), ("speed", 2), ("comment", 2)]
    services.survey_question_move(scope=scope, survey_id=survey.pk, key="reasons", direction="down")
    assert draft_keys(survey) == [("ltr", 1), ("speed", 2), ("reasons", 2), ("comment", 2)]
    services.survey_question_move(scope=scope, survey_id=survey.pk, key="comment", direction="down")
    assert draft_keys(survey) == [("ltr", 1), ("speed", 2), ("reasons", 2), ("comment", 2)]


def test_executives_change_no_question(world):
    survey = make_published_survey(world.scope(world.analyst))
    scope = world.scope(world.executive)
    with pytest.raises(PermissionDenied):
        services.survey_question_save(scope=scope, survey_id=survey.pk, question=RESOLVED)
    with pytest.raises(PermissionDenied):
        services.survey_question_delete(scope=scope, survey_id=survey.pk, key="comment")
    with pytest.raises(PermissionDenied):
        services.survey_question_move(
            scope=scope, survey_id=survey.pk, key="comment", direction="up"
        )
    assert SurveyVersion.objects.filter(survey=survey).count() == 1


def test_another_organisation_cannot_edit_the_survey(world):
    survey = make_published_survey(world.scope(world.analyst))
    with pytest.raises(NotFound):
        services.survey_question_save(
            scope=world.scope(world.outsider, world.other_org),
            survey_id=survey.pk,
            question=RESOLVED,
        )
    assert SurveyVersion.objects.filter(survey=survey).count() == 1


def test_an_open_link_is_switched_off_and_back_on(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    link = services.open_link_create(scope=scope, survey_id=survey.pk, name="Kiosk")
    assert services.open_link_set_active(scope=scope, open_link_id=link.pk, is_active=False)
    assert OpenLink.objects.get(pk=link.pk).is_active is False
    services.open_link_set_active(scope=scope, open_link_id=link.pk, is_active=True)
    assert OpenLink.objects.get(pk=link.pk).is_active is True
    with pytest.raises(PermissionDenied):
        services.open_link_set_active(
            scope=world.scope(world.executive), open_link_id=link.pk, is_active=False
        )
    with pytest.raises(NotFound):
        services.open_link_set_active(
            scope=world.scope(world.outsider, world.other_org),
            open_link_id=link.pk,
            is_active=False,
        )
    assert OpenLink.objects.get(pk=link.pk).is_active is True


def test_a_programs_kind_may_change_but_only_to_a_known_kind(world):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    services.program_update(scope=scope, program_id=program.pk, kind="relationship")
    assert Program.objects.get(pk=program.pk).kind == "relationship"
    with pytest.raises(ValidationFailed) as error:
        services.program_update(scope=scope, program_id=program.pk, kind="weekly")
    assert error.value.errors[0].field == "kind"
    assert Program.objects.get(pk=program.pk).kind == "relationship"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_editors_adding_questions_at_once_both_keep_their_question(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def add(key: str) -> None:
        try:
            barrier.wait()
            question = QuestionSpec(key=key, kind="yes_no", text=dict(RESOLVED.text))
            services.survey_question_save(scope=scope, survey_id=survey.pk, question=question)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(key,)) for key in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    keys = [key for key, _page in draft_keys(survey)]
    assert keys[:4] == ["ltr", "reasons", "speed", "comment"]
    assert sorted(keys[4:]) == ["first", "second"]
    draft = SurveyVersion.objects.get(survey=survey, status="draft")
    assert [spec_of(q).key for q in Question.objects.filter(version=draft)] == keys
