"""Analysts preview a survey in each of its languages exactly as respondents will see it; nothing
they send in the preview is stored."""

import copy
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sonda.surveys import services
from sonda.surveys.models import Answer, Response, SurveyVersion
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import QUESTIONS, make_published_survey
from sonda.surveys.tests.respondent import Respondent, error_summary, headings, questions, text


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def preview_url(survey) -> str:
    return reverse("respond:preview", kwargs={"survey_id": survey.pk})


def signed_in(user) -> Respondent:
    browser = Respondent()
    browser.client.force_login(user)
    return browser


def save_draft(world, survey, questions: list[dict[str, Any]]) -> None:
    services.survey_draft_save(
        scope=world.scope(world.analyst),
        survey_id=survey.pk,
        questions=[spec_from_json(q, index=i) for i, q in enumerate(questions)],
    )


def banner(page) -> str:
    content = page.content.decode()
    return text(content.split('<div class="preview-banner" role="note">', 1)[1].split("</div>")[0])


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("analyst", 200),
        ("executive", 403),
        ("manager_north", 403),
        ("manager_south", 403),
        ("frontline", 403),
        ("outsider", 404),
    ],
)
def test_only_admins_and_analysts_of_the_organisation_preview(world, survey, role, status):
    client = Client()
    client.force_login(world.users_by_role[role])
    assert client.get(preview_url(survey)).status_code == status
    assert client.post(preview_url(survey), {"page": "1", "ltr": "9"}).status_code == status
    assert not Response.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(world, survey):
    page = Client().get(preview_url(survey))
    assert (page.status_code, page["Location"]) == (
        302,
        f"/login/?next=/surveys/{survey.pk}/preview/",
    )


def test_another_organisations_survey_is_not_found(world, survey):
    stranger = make_published_survey(world.scope(world.outsider, world.other_org))
    assert signed_in(world.analyst).open(preview_url(stranger)).status_code == 404
    assert signed_in(world.analyst).open("/surveys/999999/preview/").status_code == 404


def test_the_preview_shows_the_published_version_as_respondents_see_it(world, survey):
    page = signed_in(world.analyst).open(preview_url(survey), lang="pl")
    assert banner(page) == "Preview — nothing is saved. Version 1 (Published)"
    assert '<html lang="pl">' in page.content.decode()
    assert questions(page) == [
        "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu? (wymagane)",
        "Co poszło nie tak?",
    ]
    assert "Odpowiedz, jeśli powyżej wybrano 6 lub mniej." in page.content.decode()


def test_the_preview_shows_the_draft_and_marks_missing_translations(world, survey):
    edited = copy.deepcopy(QUESTIONS)
    edited[0]["text"]["en"] = "Would you recommend our branch to a friend?"
    del edited[0]["text"]["pl"]
    save_draft(world, survey, edited)
    browser = signed_in(world.analyst)
    page = browser.open(preview_url(survey), lang="en")
    assert banner(page) == "Preview — nothing is saved. Version 2 (Draft)"
    assert questions(page)[0] == "Would you recommend our branch to a friend? (required)"
    page = browser.open(preview_url(survey), lang="pl")
    # The default language's text stands in, marked for the analyst.
    assert questions(page)[0] == (
        "Cât de probabil este să ne recomandați unui prieten? (wymagane) [missing translation]"
    )


def test_the_banner_speaks_the_analysts_language(world, survey):
    world.analyst.language = "ro"
    world.analyst.save()
    page = signed_in(world.analyst).open(preview_url(survey), lang="pl")
    assert banner(page).startswith("Previzualizare — nu se salvează nimic. Versiunea 1 (")
    assert questions(page)[1] == "Co poszło nie tak?"


def test_the_preview_opens_any_page(world, survey):
    page = signed_in(world.analyst).open(preview_url(survey), lang="en", page="2")
    assert questions(page) == [
        "How fast were you served?",
        "Anything else you would like to tell us?",
    ]
    back = f'<a class="survey-back" href="{preview_url(survey)}?lang=en&amp;page=1">Back</a>'
    assert back in page.content.decode()


def test_previewing_through_every_page_checks_answers_and_stores_nothing(world, survey):
    versions = list(SurveyVersion.objects.values_list("pk", "status", "updated_at"))
    browser = signed_in(world.analyst)
    browser.open(preview_url(survey), lang="en")
    page = browser.answer({"ltr": "11"})
    assert page.status_code == 422
    assert error_summary(page) == [("q-ltr-0", "Choose a number from 0 to 10.")]

    page = browser.answer({"ltr": "3", "reasons": ["fees"]})
    assert page.status_code == 200
    assert questions(page) == [
        "How fast were you served?",
        "Anything else you would like to tell us?",
    ]
    page = browser.answer({"speed": "4", "comment": "x" * 3000})
    assert error_summary(page) == [
        ("q-comment", "Please shorten your answer to 2000 characters (it has 3000).")
    ]
    page = browser.answer({"speed": "4", "comment": "Fine."})
    assert headings(page) == ["Thank you!"]
    assert "That was the last page." in page.content.decode()

    assert not Response.objects.exists()
    assert not Answer.objects.exists()
    assert list(SurveyVersion.objects.values_list("pk", "status", "updated_at")) == versions


def test_a_later_page_of_the_preview_follows_the_answers_given_earlier(world):
    follow_up = {
        "key": "callback",
        "kind": "yes_no",
        "page": 2,
        "condition": {"question": "ltr", "op": "lte", "value": 6},
        "text": {"en": "May we call you?", "ro": "Vă putem suna?", "pl": "Czy możemy zadzwonić?"},
    }
    survey = make_published_survey(
        world.scope(world.analyst), questions=[*QUESTIONS[:3], follow_up]
    )
    browser = signed_in(world.analyst)
    # Opened at page 2 directly, the preview cannot know the score: it shows the question, noted.
    page = browser.open(preview_url(survey), lang="en", page="2")
    assert questions(page) == ["How fast were you served?", "May we call you?"]
    assert "Answer this if you chose 6 or less above." in page.content.decode()
    for score, asked in (
        ("9", ["How fast were you served?"]),
        ("2", ["How fast were you served?", "May we call you?"]),
    ):
        browser.open(preview_url(survey), lang="en")
        page = browser.answer({"ltr": score})
        assert questions(page) == asked
        assert "Answer this if" not in page.content.decode()
