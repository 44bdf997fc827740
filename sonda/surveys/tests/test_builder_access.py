"""Who may open which page of the survey builder.

The builder belongs to those who run the program: admins and analysts build, executives read.
Managers and frontline employees are refused its lists (403) and do not find its objects (404);
another organisation's objects are not found either. Anonymous visitors are sent to sign in.
"""

from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.surveys import services
from sonda.surveys.models import OpenLink, Program, SurveyLook, SurveyVersion
from sonda.surveys.tests.factories import make_published_survey

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")
BUILDERS = {"admin": 200, "analyst": 200}


@pytest.fixture
def survey(world):
    survey = make_published_survey(world.scope(world.analyst))
    services.open_link_create(scope=world.scope(world.analyst), survey_id=survey.pk, name="QR")
    return survey


def _lists(ok_for_outsider: bool) -> dict[str, int]:
    """A list or the look: the organisation's readers see it; managers and frontline may not."""
    return {
        **dict.fromkeys(ROLES, 403),
        "admin": 200,
        "analyst": 200,
        "executive": 200,
        "outsider": 200 if ok_for_outsider else 404,
    }


def _forms() -> dict[str, int]:
    """A page that creates something in the caller's own organisation."""
    return {**dict.fromkeys(ROLES, 403), **BUILDERS, "outsider": 200}


OBJECT_READ = {
    **dict.fromkeys(ROLES, 404),
    "admin": 200,
    "analyst": 200,
    "executive": 200,
}
OBJECT_WRITE = {**OBJECT_READ, "executive": 403}

Url = Callable[..., str]
MATRIX: dict[str, tuple[Url, dict[str, int]]] = {
    "programs": (lambda s: reverse("surveys:program_list"), _lists(True)),
    "new program": (lambda s: reverse("surveys:program_create"), _forms()),
    "program": (lambda s: reverse("surveys:program_detail", args=[s.program_id]), OBJECT_READ),
    "edit program": (lambda s: reverse("surveys:program_edit", args=[s.program_id]), OBJECT_WRITE),
    "surveys": (lambda s: reverse("surveys:list"), _lists(True)),
    "new survey": (lambda s: reverse("surveys:create"), _forms()),
    "builder": (lambda s: reverse("surveys:builder", args=[s.pk]), OBJECT_READ),
    "settings": (lambda s: reverse("surveys:settings", args=[s.pk]), OBJECT_WRITE),
    "versions": (lambda s: reverse("surveys:versions", args=[s.pk]), OBJECT_READ),
    "new question": (
        lambda s: reverse("surveys:question_create", args=[s.pk]) + "?kind=csat",
        OBJECT_WRITE,
    ),
    "edit question": (
        lambda s: reverse("surveys:question_edit", args=[s.pk, "reasons"]),
        OBJECT_WRITE,
    ),
    "open links": (lambda s: reverse("surveys:open_links", args=[s.pk]), OBJECT_READ),
    "survey look": (lambda s: reverse("surveys:look"), _lists(True)),
    "survey look stylesheet": (lambda s: reverse("surveys:look_css"), _lists(True)),
}


@pytest.mark.parametrize("page", list(MATRIX))
def test_anonymous_visitors_are_sent_to_sign_in(world, survey, client: Client, page):
    build, _expected = MATRIX[page]
    url = build(survey)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(MATRIX))
def test_each_role_opens_only_the_builder_pages_it_may_use(world, survey, client, page, role):
    build, expected = MATRIX[page]
    client.force_login(world.users_by_role[role])
    response = client.get(build(survey))
    assert response.status_code == expected[role]


def _posts(world, survey) -> dict[str, tuple[str, dict[str, str]]]:
    link = OpenLink.objects.get(survey=survey)
    return {
        "create program": (
            reverse("surveys:program_create"),
            {
                "name": "Stolen",
                "kind": "relationship",
                "promoter_min": "9",
                "detractor_max": "6",
                "minimum_base": "30",
            },
        ),
        "edit program": (
            reverse("surveys:program_edit", args=[survey.program_id]),
            {
                "name": "Renamed",
                "kind": "relationship",
                "promoter_min": "9",
                "detractor_max": "6",
                "minimum_base": "30",
            },
        ),
        "make a draft": (reverse("surveys:edit_draft", args=[survey.pk]), {}),
        "publish": (reverse("surveys:publish", args=[survey.pk]), {}),
        "delete a question": (reverse("surveys:question_delete", args=[survey.pk, "comment"]), {}),
        "move a question": (
            reverse("surveys:question_move", args=[survey.pk, "comment"]),
            {"direction": "up"},
        ),
        "switch off an open link": (
            reverse("surveys:open_link_active", args=[survey.pk, link.pk]),
            {"active": "0"},
        ),
        "create an open link": (
            reverse("surveys:open_links", args=[survey.pk]),
            {"name": "Kiosk", "channel": "kiosk", "max_responses_per_client_per_day": "3"},
        ),
        "set the look": (
            reverse("surveys:look"),
            {"primary_colour": "#000000", "background_colour": "#ffffff"},
        ),
    }


NOTHING_FOR = ("executive", "manager_north", "manager_south", "frontline", "outsider")


@pytest.mark.parametrize("role", NOTHING_FOR)
def test_only_builders_change_anything_through_the_pages(world, survey, client, role):
    client.force_login(world.users_by_role[role])
    before = (
        list(Program.objects.values_list("name", flat=True)),
        list(SurveyVersion.objects.values_list("number", "status")),
        list(OpenLink.objects.values_list("name", "is_active")),
    )
    codes = {}
    for action, (url, data) in _posts(world, survey).items():
        codes[action] = client.post(url, data).status_code
    # An outsider's new program and look land in their own organisation, not in this one.
    if role == "outsider":
        assert Program.objects.filter(organisation=world.other_org).count() == 1
        Program.objects.filter(organisation=world.other_org).delete()
        assert SurveyLook.objects.filter(organisation=world.other_org).count() == 1
    after = (
        list(Program.objects.values_list("name", flat=True)),
        list(SurveyVersion.objects.values_list("number", "status")),
        list(OpenLink.objects.values_list("name", "is_active")),
    )
    assert after == before
    assert not SurveyLook.objects.filter(organisation=world.org).exists()
    on_objects = 403 if role == "executive" else 404
    assert codes == {
        "create program": 302 if role == "outsider" else 403,
        "edit program": on_objects,
        "make a draft": on_objects,
        "publish": on_objects,
        "delete a question": on_objects,
        "move a question": on_objects,
        "switch off an open link": on_objects,
        "create an open link": on_objects,
        "set the look": 302 if role == "outsider" else 403,
    }


def test_the_builder_pages_of_another_organisation_show_nothing_of_this_one(world, survey, client):
    client.force_login(world.outsider)
    for name in ("surveys:program_list", "surveys:list"):
        html = client.get(reverse(name)).content.decode()
        assert "Branch experience" not in html
        assert "After a branch visit" not in html
