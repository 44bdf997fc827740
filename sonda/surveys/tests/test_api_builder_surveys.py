"""/surveys: surveys, their drafts as JSON, publishing and versions over the API."""

import copy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.surveys import services
from sonda.surveys.models import Question, Survey, SurveyVersion
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.tests.factories import QUESTIONS, make_program, make_published_survey

LIST = {
    "anonymous": 401,
    "outsider": 200,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
READ = {**LIST, "outsider": 404, "manager_south": 404, "frontline": 404, "manager_north": 404}
WRITE = {**READ, "executive": 403}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world) -> Survey:
    return make_published_survey(world.scope(world.analyst))


def stored(survey: Survey) -> list[tuple[int, str, list[str]]]:
    """What a negative test checks is unchanged: versions, their status and question keys."""
    return [
        (
            version.number,
            version.status,
            list(version.questions.order_by("position").values_list("key", flat=True)),
        )
        for version in SurveyVersion.objects.filter(survey=survey).order_by("number")
    ]


def question_json(data: dict[str, Any]) -> dict[str, Any]:
    """A question as the API writes it: every field, scale defaults filled in."""
    scale = {"nps": (0, 10), "rating": (1, 5)}.get(data["kind"], (None, None))
    return {
        "key": data["key"],
        "kind": data["kind"],
        "text": data["text"],
        "required": data.get("required", False),
        "page": data.get("page", 1),
        "help_text": data.get("help_text", {}),
        "scale_min": data.get("scale_min", scale[0]),
        "scale_max": data.get("scale_max", scale[1]),
        "scale_labels": data.get("scale_labels", {}),
        "options": [
            {"code": o["code"], "labels": o["labels"], "problem": o.get("problem", "")}
            for o in data.get("options", [])
        ],
        "competitor": data.get("competitor", ""),
        "max_length": data.get("max_length"),
        "condition": data.get("condition"),
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_surveys(api, survey, who):
    response = api.as_(who).get("/surveys")
    assert response.status_code == LIST[who]
    if who == "outsider":
        assert response.json()["count"] == 0
    elif response.status_code == 200:
        assert response.json() == {
            "count": 1,
            "items": [
                {
                    "id": survey.pk,
                    "program_id": survey.program_id,
                    "name": "After a branch visit",
                    "languages": ["en", "ro", "pl"],
                    "default_language": "ro",
                    "is_archived": False,
                    "published_version": 1,
                    "draft_version": None,
                    "response_count": 0,
                }
            ],
        }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_survey_with_its_versions(api, survey, who):
    response = api.as_(who).get(f"/surveys/{survey.pk}")
    assert response.status_code == READ[who]
    if response.status_code != 200:
        problem_fields(response)
        return
    body = response.json()
    assert (body["published_version"], body["draft_version"], body["draft"]) == (1, None, None)
    published = body["published"]
    assert (published["number"], published["status"]) == (1, "published")
    assert published["questions"] == [question_json(q) for q in QUESTIONS]


def test_a_survey_shows_its_draft_beside_the_published_version(api, world, survey):
    scope = world.scope(world.analyst)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    response_submit(survey=survey, context=ResponseContext(language="en"), answers={"ltr": 10})
    body = api.as_("executive").get(f"/surveys/{survey.pk}").json()
    assert (body["published_version"], body["draft_version"], body["response_count"]) == (1, 2, 1)
    assert body["draft"]["status"] == "draft"
    assert body["draft"]["questions"] == body["published"]["questions"]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_survey(api, world, who):
    program = make_program(world.scope(world.analyst))
    response = api.as_(who).post(
        "/surveys",
        {
            "program_id": program.pk,
            "name": "After a call",
            "languages": ["en", "ro", "pl"],
            "default_language": "en",
            "questions": [QUESTIONS[0]],
        },
    )
    # The stranger admin may create surveys, but not in this organisation's programs.
    expected = {**LIST, "outsider": 422, "executive": 403, "analyst": 201, "admin": 201}[who]
    assert response.status_code == expected
    assert Survey.objects.filter(name="After a call").count() == (1 if expected == 201 else 0)
    if who == "outsider":
        assert problem_fields(response) == ["program_id"]
    if expected == 201:
        body = response.json()
        assert (body["draft_version"], body["published"]) == (1, None)
        assert body["draft"]["questions"] == [question_json(QUESTIONS[0])]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_survey(api, survey, who):
    response = api.as_(who).patch(f"/surveys/{survey.pk}", {"name": "Branch visit"})
    assert response.status_code == WRITE[who]
    name = Survey.objects.get(pk=survey.pk).name
    assert name == ("Branch visit" if WRITE[who] == 200 else "After a branch visit")


def test_a_survey_is_archived_and_its_languages_changed(api, survey):
    response = api.as_("analyst").patch(
        f"/surveys/{survey.pk}",
        {"languages": ["ro", "en"], "default_language": "en", "is_archived": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["languages"], body["default_language"], body["is_archived"]) == (
        ["ro", "en"],
        "en",
        True,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "csat", "scale_max": 6}, "questions[0].scale_max"),
        ({"kind": "teleport"}, "questions[0].kind"),
        ({"key": "Bad Key"}, "questions[0].key"),
        ({"page": "two"}, "questions[0].page"),
        ({"colour": "red"}, "questions[0].colour"),
        ({"text": {"xx": "?"}}, "questions[0].text.xx"),
        (
            {"condition": {"question": "speed", "op": "lte", "value": 6}},
            "questions[0].condition.question",
        ),
        ({"condition": {"question": "ltr"}}, "questions[0].condition.op"),
    ],
)
def test_a_bad_definition_names_the_question_and_field_and_nothing_is_written(
    api, world, change, field
):
    program = make_program(world.scope(world.analyst))
    question = {**QUESTIONS[0], **change}
    response = api.as_("analyst").post(
        "/surveys",
        {
            "program_id": program.pk,
            "name": "Bad",
            "languages": ["en", "ro", "pl"],
            "default_language": "en",
            "questions": [question, QUESTIONS[2]],
        },
    )
    assert response.status_code == 422
    assert field in problem_fields(response)
    assert not Survey.objects.exists()
    assert not SurveyVersion.objects.exists()


def test_the_draft_round_trips_get_change_put(api, world, survey):
    caller = api.as_("analyst")
    assert caller.get(f"/surveys/{survey.pk}/draft").status_code == 404
    published = caller.get(f"/surveys/{survey.pk}").json()["published"]
    questions = copy.deepcopy(published["questions"])
    questions[3]["text"]["en"] = "Anything else?"
    questions.append(
        {
            "key": "resolved",
            "kind": "yes_no",
            "page": 2,
            "text": {"en": "Resolved?", "ro": "Rezolvat?", "pl": "Rozwiązane?"},
        }
    )
    response = caller.put(f"/surveys/{survey.pk}/draft", {"questions": questions})
    assert response.status_code == 200
    draft = response.json()
    assert (draft["number"], draft["status"], draft["published_at"]) == (2, "draft", None)
    assert draft["questions"][3]["text"]["en"] == "Anything else?"
    assert draft["questions"][4] == question_json(questions[4])
    assert caller.get(f"/surveys/{survey.pk}/draft").json() == draft
    assert stored(survey) == [
        (1, "published", ["ltr", "reasons", "speed", "comment"]),
        (2, "draft", ["ltr", "reasons", "speed", "comment", "resolved"]),
    ]


@pytest.mark.parametrize(
    ("questions", "field", "message"),
    [
        (
            [QUESTIONS[0], {**QUESTIONS[2], "key": "ltr"}],
            "questions[1].key",
            "'ltr' is used by another question",
        ),
        (
            [{**QUESTIONS[1], "page": 1}, QUESTIONS[0]],
            "questions[0].condition.question",
            "must name an earlier question",
        ),
        (
            [{**QUESTIONS[0], "kind": "ces", "scale_min": 0, "scale_max": 10}],
            "questions[0].scale_max",
            "ces scales are 1–5, 1–7",
        ),
        (
            [QUESTIONS[0], {**QUESTIONS[2], "page": 3}],
            "questions",
            "pages must run 1, 2, 3... without gaps: [1, 3]",
        ),
    ],
)
def test_a_bad_draft_is_refused_naming_the_place_and_the_draft_stays(
    api, world, survey, questions, field, message
):
    scope = world.scope(world.analyst)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    before = stored(survey)
    response = api.as_("analyst").put(f"/surveys/{survey.pk}/draft", {"questions": questions})
    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [(field, message)]
    assert stored(survey) == before


def test_every_bad_question_of_a_draft_is_reported_at_once(api, survey):
    response = api.as_("analyst").put(
        f"/surveys/{survey.pk}/draft",
        {"questions": [{"key": "a", "kind": "nps", "page": 0.5}, {"key": "b", "kind": "bogus"}]},
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["questions[0].page", "questions[1].kind"]
    assert stored(survey) == [(1, "published", ["ltr", "reasons", "speed", "comment"])]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_put_a_draft(api, survey, who):
    response = api.as_(who).put(f"/surveys/{survey.pk}/draft", {"questions": [QUESTIONS[0]]})
    assert response.status_code == WRITE[who]
    drafts = SurveyVersion.objects.filter(survey=survey, status="draft").count()
    assert drafts == (1 if WRITE[who] == 200 else 0)


def test_publishing_refuses_missing_translations_listing_each(api, world, survey):
    incomplete = {**QUESTIONS[0], "text": {"en": "Recommend us?", "ro": "Ne recomandați?"}}
    caller = api.as_("analyst")
    caller.put(f"/surveys/{survey.pk}/draft", {"questions": [incomplete, QUESTIONS[1]]})
    response = caller.post(f"/surveys/{survey.pk}/publish")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "1 translation(s) missing before publishing."
    assert body["errors"] == [{"field": "translations", "message": "ltr: question text in pl"}]
    assert [status for _n, status, _k in stored(survey)] == ["published", "draft"]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_publish(api, world, survey, who):
    services.survey_draft(scope=world.scope(world.analyst), survey_id=survey.pk)
    response = api.as_(who).post(f"/surveys/{survey.pk}/publish")
    assert response.status_code == WRITE[who]
    statuses = [status for _n, status, _k in stored(survey)]
    assert statuses == (["retired", "published"] if WRITE[who] == 200 else ["published", "draft"])
    if response.status_code == 200:
        body = response.json()
        assert (body["number"], body["status"], body["published_by_id"]) == (
            2,
            "published",
            world.users_by_role[who].pk,
        )


def test_publishing_with_nothing_to_publish_is_a_conflict(api, survey):
    response = api.as_("analyst").post(f"/surveys/{survey.pk}/publish")
    assert response.status_code == 409
    assert problem_fields(response) == ["version"]


def test_versions_list_newest_first_with_responses_per_version(api, world, survey):
    scope = world.scope(world.analyst)
    response_submit(survey=survey, context=ResponseContext(language="en"), answers={"ltr": 3})
    services.survey_draft(scope=scope, survey_id=survey.pk)
    services.survey_publish(scope=scope, survey_id=survey.pk)
    for score in (9, 10):
        response_submit(
            survey=survey, context=ResponseContext(language="ro"), answers={"ltr": score}
        )
    body = api.as_("executive").get(f"/surveys/{survey.pk}/versions").json()
    assert body["count"] == 2
    assert [
        (v["number"], v["status"], v["published_by_id"], v["response_count"]) for v in body["items"]
    ] == [(2, "published", world.analyst.pk, 2), (1, "retired", world.analyst.pk, 1)]
    assert api.as_("manager_north").get(f"/surveys/{survey.pk}/versions").status_code == 404


def test_the_survey_list_filters_by_program_with_a_fixed_number_of_queries(api, world, survey):
    scope = world.scope(world.analyst)
    other = make_program(scope, name="Relationship", kind="relationship")
    caller = api.as_("analyst")
    caller.get("/surveys")
    with CaptureQueriesContext(connection) as one:
        caller.get("/surveys")
    for index in range(3):
        made = make_published_survey(scope, program=other, name=f"Yearly {index}")
        response_submit(survey=made, context=ResponseContext(language="en"), answers={"ltr": 8})
    with CaptureQueriesContext(connection) as four:
        caller.get("/surveys")
    assert len(four) == len(one)
    body = caller.get("/surveys", program_id=other.pk).json()
    assert [(s["name"], s["response_count"]) for s in body["items"]] == [
        ("Yearly 0", 1),
        ("Yearly 1", 1),
        ("Yearly 2", 1),
    ]


def test_a_survey_detail_has_a_fixed_number_of_queries(api, world, survey):
    caller = api.as_("analyst")
    caller.get(f"/surveys/{survey.pk}")
    with CaptureQueriesContext(connection) as four_questions:
        caller.get(f"/surveys/{survey.pk}")
    services.survey_draft(scope=world.scope(world.analyst), survey_id=survey.pk)
    with CaptureQueriesContext(connection) as with_a_draft:
        caller.get(f"/surveys/{survey.pk}")
    assert len(with_a_draft) == len(four_questions)
    assert Question.objects.filter(version__survey=survey).count() == 8


BUILDER_LISTS = [
    "/api/v1/programs",
    "/api/v1/surveys",
    "/api/v1/surveys/{survey_id}/versions",
    "/api/v1/surveys/{survey_id}/open-links",
]


def test_every_builder_list_is_paginated(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in BUILDER_LISTS:
        get = paths[path]["get"]
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].startswith("#/components/schemas/Paged"), path
        assert {"limit", "offset"} <= {p["name"] for p in get["parameters"]}, path
