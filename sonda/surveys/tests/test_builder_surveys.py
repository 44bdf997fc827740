"""Survey pages: the list, creating a survey, its settings, the builder, publishing and versions."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.surveys import services
from sonda.surveys.models import Survey, SurveyVersion
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import QUESTIONS, make_program, make_published_survey


def specs(questions):
    return [spec_from_json(q, index=i) for i, q in enumerate(questions)]


def answer(survey, score=9):
    response_submit(survey=survey, context=ResponseContext(language="ro"), answers={"ltr": score})


def test_the_list_shows_status_languages_and_responses_per_survey(world, client):
    scope = world.scope(world.analyst)
    published = make_published_survey(scope)
    answer(published)
    answer(published, 3)
    services.survey_draft(scope=scope, survey_id=published.pk)
    program = make_program(scope, name="Relationship", kind="relationship")
    services.survey_create(
        scope=scope, program_id=program.pk, name="Yearly", languages=["en"], default_language="en"
    )
    client.force_login(world.executive)
    html = client.get(reverse("surveys:list")).content.decode()
    rows = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr>\s*<td><a href=\"/surveys/\d+/\">.*?</tr>", html, re.S)
    ]
    assert rows == [
        "After a branch visit Branch experience version 1 published version 2 draft en, ro, pl 2",
        "Yearly Relationship version 1 draft en 0",
    ]
    html = client.get(reverse("surveys:list"), {"program": program.pk}).content.decode()
    assert "Yearly" in html
    assert "After a branch visit" not in html


def test_the_survey_list_has_a_fixed_number_of_queries(world, client):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    make_published_survey(scope, program=program, name="First")
    client.force_login(world.analyst)
    client.get(reverse("surveys:list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("surveys:list"))
    for index in range(4):
        survey = make_published_survey(scope, program=program, name=f"Survey {index}")
        answer(survey)
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("surveys:list"))
    assert len(five) == len(one)


def test_an_analyst_creates_a_survey_and_lands_in_the_builder(world, client):
    program = make_program(world.scope(world.analyst))
    client.force_login(world.analyst)
    page = client.get(reverse("surveys:create"), {"program": program.pk})
    assert page.context["form"]["program"].value() == program.pk
    response = client.post(
        reverse("surveys:create"),
        {
            "program": program.pk,
            "name": "After a call",
            "languages": ["en", "ro", "pl"],
            "default_language": "ro",
        },
    )
    survey = Survey.objects.get(name="After a call")
    assert response["Location"] == reverse("surveys:builder", args=[survey.pk])
    assert (survey.languages, survey.default_language) == (["en", "ro", "pl"], "ro")
    assert list(survey.versions.values_list("number", "status")) == [(1, "draft")]


def test_a_default_language_outside_the_languages_is_refused(world, client):
    program = make_program(world.scope(world.analyst))
    client.force_login(world.analyst)
    response = client.post(
        reverse("surveys:create"),
        {"program": program.pk, "name": "X", "languages": ["en"], "default_language": "pl"},
    )
    assert response.context["form"].errors == {
        "default_language": ["The default language must be one of the languages above."]
    }
    response = client.post(
        reverse("surveys:create"),
        {"program": program.pk, "name": "X", "languages": ["xx"], "default_language": "en"},
    )
    assert list(response.context["form"].errors) == ["languages"]
    assert not Survey.objects.exists()


def test_another_organisations_program_cannot_be_chosen(world, client):
    program = make_program(world.scope(world.analyst))
    client.force_login(world.outsider)
    response = client.post(
        reverse("surveys:create"),
        {"program": program.pk, "name": "X", "languages": ["en"], "default_language": "en"},
    )
    assert list(response.context["form"].errors) == ["program"]
    assert not Survey.objects.exists()


def test_settings_rename_change_languages_and_archive(world, client):
    survey = make_published_survey(world.scope(world.analyst))
    client.force_login(world.admin)
    response = client.post(
        reverse("surveys:settings", args=[survey.pk]),
        {
            "name": "Branch visit",
            "languages": ["en", "ro"],
            "default_language": "en",
            "is_archived": "on",
        },
    )
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.name, survey.languages, survey.default_language, survey.is_archived) == (
        "Branch visit",
        ["en", "ro"],
        "en",
        True,
    )


def test_the_builder_lists_the_questions_in_order_with_their_pages(world, client):
    survey = make_published_survey(world.scope(world.analyst))
    client.force_login(world.analyst)
    html = client.get(reverse("surveys:builder", args=[survey.pk])).content.decode()
    keys = re.findall(r'<tr id="q-([a-z_]+)">\s*<td>(\d+)</td>\s*<td>.*?(\d+)<', html)
    assert keys == [
        ("ltr", "1", "1"),
        ("reasons", "2", "1"),
        ("speed", "3", "2"),
        ("comment", "4", "2"),
    ]
    assert "shown if ltr ≤ 6" in html
    assert "options: waiting, staff, fees" in html
    assert "scale 0–10" in html
    assert "Cât de probabil este să ne recomandați unui prieten?" in html  # the default, ro
    # A published version is not edited in place.
    assert "Edit: make a new draft" in html
    assert reverse("surveys:question_edit", args=[survey.pk, "ltr"]) not in html


def test_the_builder_links_a_preview_in_each_language(world, client):
    survey = make_published_survey(world.scope(world.analyst))
    client.force_login(world.executive)
    html = client.get(reverse("surveys:builder", args=[survey.pk])).content.decode()
    preview = reverse("respond:preview", kwargs={"survey_id": survey.pk})
    assert re.findall(rf'<a href="({re.escape(preview)}\?lang=\w+)">', html) == [
        f"{preview}?lang=en",
        f"{preview}?lang=ro",
        f"{preview}?lang=pl",
    ]
    assert "Edit: make a new draft" not in html  # executives read


def test_editing_a_published_survey_makes_a_new_draft(world, client):
    survey = make_published_survey(world.scope(world.analyst))
    client.force_login(world.analyst)
    response = client.post(reverse("surveys:edit_draft", args=[survey.pk]))
    assert response["Location"] == reverse("surveys:builder", args=[survey.pk])
    assert list(survey.versions.order_by("number").values_list("number", "status")) == [
        (1, "published"),
        (2, "draft"),
    ]
    html = client.get(reverse("surveys:builder", args=[survey.pk])).content.decode()
    assert "Questions of draft version 2" in html
    assert reverse("surveys:question_edit", args=[survey.pk, "ltr"]) in html
    assert "Publish version 2" in html


def test_missing_translations_are_listed_and_block_publishing(world, client):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    changed = [
        {**QUESTIONS[0], "text": {"en": "Recommend us?", "ro": "Ne recomandați?"}},
        {**QUESTIONS[3], "help_text": {"en": "Optional"}},
    ]
    services.survey_draft_save(scope=scope, survey_id=survey.pk, questions=specs(changed))
    client.force_login(world.analyst)
    html = client.get(reverse("surveys:builder", args=[survey.pk])).content.decode()
    missing = html.split('id="missing-translations">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r"<li>([^<]+)</li>", missing) == [
        "ltr: question text in pl",
        "comment: help text in ro",
        "comment: help text in pl",
    ]
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Publish version 2</button>", html)
    response = client.post(reverse("surveys:publish", args=[survey.pk]), follow=True)
    assert "Not published: 3 translation(s) missing before publishing." in (
        response.content.decode()
    )
    statuses = dict(SurveyVersion.objects.filter(survey=survey).values_list("number", "status"))
    assert statuses == {1: "published", 2: "draft"}


def test_publishing_a_complete_draft_retires_the_previous_version(world, client):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_draft_save(scope=scope, survey_id=survey.pk, questions=specs(QUESTIONS[:1]))
    client.force_login(world.admin)
    response = client.post(reverse("surveys:publish", args=[survey.pk]), follow=True)
    assert "Version 2 is published: new responses answer it." in response.content.decode()
    version = SurveyVersion.objects.get(survey=survey, number=2)
    assert (version.status, version.published_by) == ("published", world.admin)
    assert SurveyVersion.objects.get(survey=survey, number=1).status == "retired"


def test_publishing_without_a_draft_says_so(world, client):
    survey = make_published_survey(world.scope(world.analyst))
    client.force_login(world.analyst)
    response = client.post(reverse("surveys:publish", args=[survey.pk]), follow=True)
    assert "there is no draft to publish; edit the survey first" in response.content.decode()


def test_the_version_history_counts_responses_per_version(world, client):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    answer(survey)
    services.survey_draft_save(scope=scope, survey_id=survey.pk, questions=specs(QUESTIONS[:1]))
    services.survey_publish(scope=scope, survey_id=survey.pk)
    answer(survey)
    answer(survey)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    client.force_login(world.executive)
    html = client.get(reverse("surveys:versions", args=[survey.pk])).content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    published = {
        number: f"{at:%Y-%m-%d %H:%M}"
        for number, at in SurveyVersion.objects.filter(
            survey=survey, published_at__isnull=False
        ).values_list("number", "published_at")
    }
    analyst = str(world.analyst)
    assert rows == [
        "3 Draft — — 0",
        f"2 Published {published[2]} {analyst} 2",
        f"1 Retired {published[1]} {analyst} 1",
    ]


def test_the_builder_speaks_the_users_language(world, client):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    world.analyst.language = "ro"
    world.analyst.save(update_fields=["language"])
    client.force_login(world.analyst)
    html = client.get(reverse("surveys:builder", args=[survey.pk])).content.decode()
    assert "Întrebările ciornei, versiunea 2" in html
    assert "Publică versiunea 2" in html
    assert "Probabilitatea de a recomanda (0–10)" in html
    world.analyst.language = "pl"
    world.analyst.save(update_fields=["language"])
    html = client.get(reverse("surveys:versions", args=[survey.pk])).content.decode()
    assert "Historia wersji" in html
    assert "Wersja robocza" in html
