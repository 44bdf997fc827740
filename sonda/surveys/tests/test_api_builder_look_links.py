"""/survey-look and /surveys/{id}/open-links over the API."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.org.tests.factories import UnitFactory
from sonda.surveys import services
from sonda.surveys.models import OpenLink, SurveyLook
from sonda.surveys.responses import ResponseContext, response_start
from sonda.surveys.tests.factories import make_published_survey

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
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
LOOK = {
    "logo": f"data:image/png;base64,{base64.b64encode(PNG).decode()}",
    "primary_colour": "#0a7b45",
    "background_colour": "#fafafa",
    "sender_name": "Banca Demo",
}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def look_of(organisation) -> tuple[str, str, str, str] | None:
    look = SurveyLook.objects.filter(organisation=organisation).first()
    if look is None:
        return None
    return (look.logo, look.primary_colour, look.background_colour, look.sender_name)


# The look --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_the_look(api, world, who):
    services.survey_look_set(scope=world.scope(world.admin), sender_name="Banca Demo")
    response = api.as_(who).get("/survey-look")
    assert response.status_code == LIST[who]
    if who == "outsider":  # their own organisation's defaults
        assert response.json() == {
            "logo": "",
            "primary_colour": "#1d4f91",
            "background_colour": "#ffffff",
            "sender_name": "",
        }
    elif response.status_code == 200:
        assert response.json()["sender_name"] == "Banca Demo"


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_set_the_look(api, world, who):
    response = api.as_(who).put("/survey-look", LOOK)
    allowed = {"analyst", "admin", "outsider"}
    expected = 200 if who in allowed else {"anonymous": 401}.get(who, 403)
    assert response.status_code == expected
    ours = look_of(world.org)
    assert ours == (tuple(LOOK.values()) if who in {"analyst", "admin"} else None)
    if response.status_code == 200:
        assert response.json() == LOOK


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"primary_colour": "red"}, "primary_colour"),
        ({"background_colour": "#fff"}, "background_colour"),
        ({"logo": "data:image/gif;base64,R0lGOD"}, "logo"),
        ({"logo": "data:image/png;base64," + "A" * 280_000}, "logo"),
        ({"sender_name": "x" * 101}, "sender_name"),
        ({"favicon": ""}, "favicon"),
    ],
)
def test_a_bad_look_names_the_field_and_changes_nothing(api, world, body, field):
    services.survey_look_set(scope=world.scope(world.admin), sender_name="Before")
    response = api.as_("analyst").put("/survey-look", {**LOOK, **body})
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert look_of(world.org) == ("", "#1d4f91", "#ffffff", "Before")


def test_putting_an_empty_logo_removes_it(api, world):
    caller = api.as_("admin")
    caller.put("/survey-look", LOOK)
    assert caller.put("/survey-look", {**LOOK, "logo": ""}).json()["logo"] == ""
    assert look_of(world.org) == ("", "#0a7b45", "#fafafa", "Banca Demo")


# Open links ------------------------------------------------------------------------------------


def link_json(link: OpenLink, **changes):
    return {
        "id": link.pk,
        "name": link.name,
        "url": f"http://testserver/o/{link.token}/",
        "unit_id": link.unit_id,
        "touchpoint": link.touchpoint,
        "channel": link.channel,
        "language": link.language,
        "is_active": link.is_active,
        "max_responses_per_client_per_day": link.max_responses_per_client_per_day,
        "response_count": 0,
        "created_at": link.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        **changes,
    }


@pytest.fixture
def link(world, survey) -> OpenLink:
    return services.open_link_create(
        scope=world.scope(world.analyst),
        survey_id=survey.pk,
        name="QR North 1",
        unit_id=world.north_branch.pk,
        touchpoint="cash desk",
        language="ro",
    )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_open_links(api, survey, link, who):
    response = api.as_(who).get(f"/surveys/{survey.pk}/open-links")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == {"count": 1, "items": [link_json(link)]}


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_an_open_link(api, world, survey, who):
    response = api.as_(who).post(
        f"/surveys/{survey.pk}/open-links",
        {"name": "Kiosk", "channel": "kiosk", "unit_id": world.south_branch.pk},
    )
    expected = 201 if WRITE[who] == 200 else WRITE[who]
    assert response.status_code == expected
    assert OpenLink.objects.filter(name="Kiosk").count() == (1 if expected == 201 else 0)
    if expected == 201:
        created = OpenLink.objects.get(name="Kiosk")
        assert response.json() == link_json(created)
        assert (created.unit, created.channel, created.max_responses_per_client_per_day) == (
            world.south_branch,
            "kiosk",
            3,
        )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_switch_an_open_link_off(api, survey, link, who):
    response = api.as_(who).patch(
        f"/surveys/{survey.pk}/open-links/{link.pk}", {"is_active": False}
    )
    assert response.status_code == WRITE[who]
    active = OpenLink.objects.get(pk=link.pk).is_active
    assert active is (WRITE[who] != 200)
    if response.status_code == 200:
        assert response.json() == link_json(link, is_active=False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "de"}, "language"),
        ({"unit_id": 999_999}, "unit_id"),
        ({"max_responses_per_client_per_day": 0}, "max_responses_per_client_per_day"),
        ({"name": ""}, "name"),
        ({"token": "mine"}, "token"),
    ],
)
def test_a_bad_open_link_names_the_field_and_nothing_is_written(api, survey, body, field):
    response = api.as_("analyst").post(
        f"/surveys/{survey.pk}/open-links", {"name": "Kiosk", **body}
    )
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not OpenLink.objects.exists()


def test_another_organisation_neither_adds_links_to_this_survey_nor_lends_its_units(
    api, world, survey
):
    from_outside = api.as_("outsider").post(f"/surveys/{survey.pk}/open-links", {"name": "Mine"})
    assert from_outside.status_code == 404
    stranger_unit = UnitFactory(organisation=world.other_org, code="X1")
    response = api.as_("analyst").post(
        f"/surveys/{survey.pk}/open-links", {"name": "Kiosk", "unit_id": stranger_unit.pk}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["unit_id"]
    assert not OpenLink.objects.exists()


def test_an_open_link_is_found_only_through_its_own_survey(api, world, survey, link):
    other = make_published_survey(
        world.scope(world.analyst), program=survey.program, name="After a call"
    )
    response = api.as_("analyst").patch(
        f"/surveys/{other.pk}/open-links/{link.pk}", {"is_active": False}
    )
    assert response.status_code == 404
    assert OpenLink.objects.get(pk=link.pk).is_active is True


def test_the_open_link_list_counts_responses_with_a_fixed_number_of_queries(
    api, world, survey, link
):
    caller = api.as_("analyst")
    caller.get(f"/surveys/{survey.pk}/open-links")
    with CaptureQueriesContext(connection) as one:
        caller.get(f"/surveys/{survey.pk}/open-links")
    scope = world.scope(world.analyst)
    for index in range(3):
        made = services.open_link_create(scope=scope, survey_id=survey.pk, name=f"Kiosk {index}")
        response_start(survey=survey, context=ResponseContext(language="ro"), open_link_id=made.pk)
    with CaptureQueriesContext(connection) as four:
        body = caller.get(f"/surveys/{survey.pk}/open-links").json()
    assert len(four) == len(one)
    assert [(item["name"], item["response_count"]) for item in body["items"]] == [
        ("Kiosk 0", 1),
        ("Kiosk 1", 1),
        ("Kiosk 2", 1),
        ("QR North 1", 0),
    ]
