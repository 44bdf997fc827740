import pytest

from sonda.core.errors import Conflict, PermissionDenied, ValidationFailed
from sonda.surveys import services
from sonda.surveys.models import Program, SurveyVersion
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import QUESTIONS, make_program, make_published_survey


def specs(questions):
    return [spec_from_json(q, index=i) for i, q in enumerate(questions)]


def test_a_program_has_default_thresholds_and_minimum_base(world):
    program = make_program(world.scope(world.analyst))
    assert (program.promoter_min, program.detractor_max, program.minimum_base) == (9, 6, 30)
    assert program.owner == world.analyst


def test_thresholds_may_be_changed_but_must_stay_ordered(world):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    services.program_update(scope=scope, program_id=program.pk, detractor_max=3)
    assert Program.objects.get(pk=program.pk).detractor_max == 3
    with pytest.raises(ValidationFailed) as error:
        services.program_update(scope=scope, program_id=program.pk, detractor_max=9)
    assert error.value.errors[0].field == "detractor_max"
    assert Program.objects.get(pk=program.pk).detractor_max == 3


def test_publishing_freezes_a_version_and_editing_makes_a_new_draft(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    published = SurveyVersion.objects.get(survey=survey)
    assert (published.number, published.status) == (1, "published")
    changed = [*QUESTIONS[:1], QUESTIONS[3]]
    draft = services.survey_draft_save(scope=scope, survey_id=survey.pk, questions=specs(changed))
    assert (draft.number, draft.status) == (2, "draft")
    assert published.questions.count() == 4  # the published version did not change
    services.survey_publish(scope=scope, survey_id=survey.pk)
    statuses = dict(SurveyVersion.objects.filter(survey=survey).values_list("number", "status"))
    assert statuses == {1: "retired", 2: "published"}


def test_missing_translations_block_publishing_with_a_list_of_what_is_missing(world):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    question = {**QUESTIONS[0], "text": {"en": "Recommend us?", "ro": "Ne recomandați?"}}
    survey = services.survey_create(
        scope=scope,
        program_id=program.pk,
        name="Incomplete",
        languages=["en", "ro", "pl"],
        default_language="en",
        questions=specs([question, QUESTIONS[1]]),
    )
    question_reasons = {**QUESTIONS[1]}
    question_reasons["options"] = [
        {**QUESTIONS[1]["options"][0], "labels": {"en": "Waiting", "ro": "Așteptare"}},
        *QUESTIONS[1]["options"][1:],
    ]
    services.survey_draft_save(
        scope=scope, survey_id=survey.pk, questions=specs([question, question_reasons])
    )
    with pytest.raises(ValidationFailed) as error:
        services.survey_publish(scope=scope, survey_id=survey.pk)
    assert [e.message for e in error.value.errors] == [
        "ltr: question text in pl",
        "reasons: option 'waiting' in pl",
    ]
    assert SurveyVersion.objects.get(survey=survey).status == "draft"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "csat", "scale_max": 6}, "questions[0].scale_max"),
        ({"kind": "nps", "scale_max": 5}, "questions[0].scale_max"),
        (
            {"kind": "single_choice", "options": [{"code": "a", "labels": {}}]},
            "questions[0].options",
        ),
        ({"kind": "teleport"}, "questions[0].kind"),
        ({"key": "Bad Key"}, "questions[0].key"),
        (
            {"condition": {"question": "later", "op": "lte", "value": 6}},
            "questions[0].condition.question",
        ),
    ],
)
def test_a_bad_definition_names_the_place(world, change, field):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    question = {**QUESTIONS[0], **change}
    with pytest.raises(ValidationFailed) as error:
        services.survey_create(
            scope=scope,
            program_id=program.pk,
            name="Bad",
            languages=["en", "ro", "pl"],
            default_language="en",
            questions=specs([question]),
        )
    assert field in [e.field for e in error.value.errors]
    assert not SurveyVersion.objects.exists()


def test_only_analysts_and_admins_build_surveys(world):
    with pytest.raises(PermissionDenied):
        make_program(world.scope(world.executive))
    assert not Program.objects.exists()


def test_publishing_without_a_draft_is_a_conflict(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    with pytest.raises(Conflict):
        services.survey_publish(scope=scope, survey_id=survey.pk)
