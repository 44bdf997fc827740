import pytest

from sonda.core.errors import Conflict, ValidationFailed
from sonda.surveys.models import Answer, Response
from sonda.surveys.responses import (
    ResponseContext,
    response_complete,
    response_save_page,
    response_start,
    response_submit,
)
from sonda.surveys.tests.factories import make_published_survey


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def context(world):
    return ResponseContext(language="ro", unit_id=world.north_branch.pk, channel="email")


def answers_of(response):
    return sorted(
        Answer.objects.filter(response=response).values_list(
            "question_key", "value_number", "value_choice", "value_text"
        )
    )


def test_a_survey_is_answered_page_by_page_and_completed_once(survey, context, world):
    response = response_start(survey=survey, context=context)
    response_save_page(
        response_id=response.pk, page=1, raw={"ltr": "4", "reasons": ["waiting", "fees"]}
    )
    response.refresh_from_db()
    assert (response.status, response.current_page) == ("partial", 2)
    response_save_page(response_id=response.pk, page=2, raw={"speed": "2", "comment": "Prea lent."})
    response_complete(response_id=response.pk)
    response.refresh_from_db()
    assert response.status == "complete"
    assert answers_of(response) == [
        ("comment", None, "", "Prea lent."),
        ("ltr", 4.0, "", ""),
        ("reasons", None, "fees", ""),
        ("reasons", None, "waiting", ""),
        ("speed", 2.0, "", ""),
    ]
    # The context is on every answer row, for analytics.
    assert set(Answer.objects.values_list("unit_path", "channel", "language", "is_complete")) == {
        (world.north_branch.path, "email", "ro", True)
    }
    with pytest.raises(Conflict):
        response_complete(response_id=response.pk)


def test_saving_the_same_page_twice_keeps_one_set_of_answers(survey, context):
    response = response_start(survey=survey, context=context)
    for _ in range(2):
        response_save_page(response_id=response.pk, page=1, raw={"ltr": "3", "reasons": "staff"})
    assert answers_of(response) == [("ltr", 3.0, "", ""), ("reasons", None, "staff", "")]


def test_reasons_are_only_asked_of_low_scores(survey, context):
    response = response_start(survey=survey, context=context)
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "10", "reasons": ["fees"]})
    assert answers_of(response) == [("ltr", 10.0, "", "")]


def test_changing_a_score_removes_reasons_that_no_longer_apply(survey, context):
    response = response_start(survey=survey, context=context)
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "2", "reasons": ["fees"]})
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "9"})
    assert answers_of(response) == [("ltr", 9.0, "", "")]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"ltr": "11"}, "ltr", "must be a whole number from 0 to 10"),
        ({"ltr": "7.5"}, "ltr", "must be a whole number from 0 to 10"),
        ({"ltr": "ten"}, "ltr", "'ten' is not a number"),
        ({}, "ltr", "is required"),
        ({"ltr": "3", "reasons": ["weather"]}, "reasons", "'weather' is not one of the options"),
    ],
)
def test_invalid_answers_are_refused_and_nothing_is_written(survey, context, raw, field, message):
    response = response_start(survey=survey, context=context)
    with pytest.raises(ValidationFailed) as error:
        response_save_page(response_id=response.pk, page=1, raw=raw)
    assert error.value.errors[0].field == field
    assert error.value.errors[0].message.startswith(message)
    assert not Answer.objects.exists()


def test_a_megabyte_of_text_is_refused(survey, context):
    response = response_start(survey=survey, context=context)
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "9"})
    with pytest.raises(ValidationFailed) as error:
        response_save_page(response_id=response.pk, page=2, raw={"comment": "x" * 1_000_000})
    assert error.value.errors[0].field == "comment"
    assert "at most 2000 characters" in error.value.errors[0].message
    assert list(Answer.objects.values_list("question_key", flat=True)) == ["ltr"]


def test_a_response_cannot_complete_without_its_required_answers(survey, context):
    response = response_start(survey=survey, context=context)
    with pytest.raises(ValidationFailed) as error:
        response_complete(response_id=response.pk)
    assert error.value.errors[0].field == "ltr"
    assert Response.objects.get(pk=response.pk).status == "partial"


def test_a_whole_response_is_idempotent_by_external_id(survey, context):
    first, created = response_submit(
        survey=survey, context=context, answers={"ltr": 8, "speed": 4}, external_id="ivr-1"
    )
    again, created_again = response_submit(
        survey=survey, context=context, answers={"ltr": 8, "speed": 4}, external_id="ivr-1"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Response.objects.count() == 1
    assert Answer.objects.count() == 2


def test_a_whole_response_with_an_unknown_question_names_it(survey, context):
    with pytest.raises(ValidationFailed) as error:
        response_submit(survey=survey, context=context, answers={"ltr": 8, "ltrr": 9})
    assert [e.field for e in error.value.errors] == ["answers.ltrr"]
    assert not Response.objects.exists()
