"""The responses list narrowed as a dashboard's slice is: by the weekday and hour each response
was answered on the organisation's clock (daylight saving included), by journey and by stage.

The same filters serve the page, its downloads and the API. A value that cannot be read is
named on the form (and the rest of the filters still apply), or in the API's problem+json.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sonda.api.testing import Api, problem_fields
from sonda.surveys.models import Response
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import store

BUCHAREST = ZoneInfo("Europe/Bucharest")
# In 2026 Bucharest moves to summer time (UTC+3) at 01:00 UTC on 29 March and back to winter
# time (UTC+2) at 01:00 UTC on 25 October.
WHEN = {
    # Saturday 23:30 local.
    "saturday_late": datetime(2026, 3, 28, 21, 30, tzinfo=UTC),
    # Sunday 00:30 local, while it is still Saturday in UTC.
    "sunday_after_midnight": datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
    # Sunday 04:30 local: summer time began an hour and a half before.
    "spring_forward": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    # Sunday 03:30 local twice: once on summer time, once again an hour later on winter time.
    "autumn_summer_time": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    "autumn_winter_time": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    # Monday 12:00 local.
    "monday_noon": datetime(2026, 10, 26, 10, 0, tzinfo=UTC),
}
NEWEST_FIRST = [
    "monday_noon",
    "autumn_winter_time",
    "autumn_summer_time",
    "spring_forward",
    "sunday_after_midnight",
    "saturday_late",
]


@pytest.fixture
def survey(world):
    world.org.time_zone = "Europe/Bucharest"
    world.org.save(update_fields=["time_zone"])
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def responses(world, survey) -> dict[str, Response]:
    """North 1 answers around both of 2026's clock changes (one at the North region itself, one
    about Ana's work); South 1 answers on a Monday."""
    context = {
        "saturday_late": {"journey": "mortgage", "stage": "application"},
        "sunday_after_midnight": {"journey": "mortgage", "stage": "signing"},
        "spring_forward": {"journey": "moving house", "stage": "first bill"},
        "autumn_summer_time": {"unit_id": world.north.pk},
        "autumn_winter_time": {"employee_id": world.frontline_person.pk},
        "monday_noon": {
            "unit_id": world.south_branch.pk,
            "journey": "mortgage",
            "stage": "application",
        },
    }
    return {
        name: store(
            survey,
            {"ltr": 9},
            completed_at=at,
            **{"unit_id": world.north_branch.pk, **context[name]},
        )
        for name, at in WHEN.items()
    }


def listed(client, responses, **query) -> list[str]:
    names = {response.pk: name for name, response in responses.items()}
    page = client.get(reverse("responses:list"), query)
    assert page.status_code == 200
    return [names[item.pk] for item in page.context["page_obj"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"weekday": "5"}, ["saturday_late"]),
        (
            {"weekday": "6"},
            ["autumn_winter_time", "autumn_summer_time", "spring_forward", "sunday_after_midnight"],
        ),
        ({"weekday": "0"}, ["monday_noon"]),
        ({"hour": "0"}, ["sunday_after_midnight"]),
        ({"hour": "3"}, ["autumn_winter_time", "autumn_summer_time"]),
        ({"hour": "4"}, ["spring_forward"]),
        ({"hour": "23"}, ["saturday_late"]),
        ({"weekday": "6", "hour": "0"}, ["sunday_after_midnight"]),
        ({"weekday": "5", "hour": "0"}, []),
        ({"weekday": "6", "hour": "3"}, ["autumn_winter_time", "autumn_summer_time"]),
        ({"weekday": "0", "hour": "12"}, ["monday_noon"]),
        ({"journey": "mortgage"}, ["monday_noon", "sunday_after_midnight", "saturday_late"]),
        ({"journey": "mort"}, []),  # labels match exactly
        ({"journey": "mortgage", "stage": "application"}, ["monday_noon", "saturday_late"]),
        ({"stage": "first bill"}, ["spring_forward"]),
        ({"journey": "mortgage", "weekday": "6"}, ["sunday_after_midnight"]),
    ],
)
def test_the_list_filters_by_local_weekday_hour_journey_and_stage(
    client, world, responses, query, expected
):
    client.force_login(world.analyst)
    assert listed(client, responses, **query) == expected


def test_every_weekday_and_hour_lists_the_responses_answered_then_on_the_local_clock(
    client, world, responses
):
    client.force_login(world.analyst)
    for weekday in range(7):
        for hour in range(24):
            expected = [
                name
                for name in NEWEST_FIRST
                if WHEN[name].astimezone(BUCHAREST).weekday() == weekday
                and WHEN[name].astimezone(BUCHAREST).hour == hour
            ]
            found = listed(client, responses, weekday=str(weekday), hour=str(hour))
            assert found == expected, (weekday, hour)


def test_a_unit_alone_leaves_out_the_units_inside_it(client, world, responses):
    client.force_login(world.analyst)
    north = str(world.north.pk)
    assert listed(client, responses, unit=north) == NEWEST_FIRST[1:]
    assert listed(client, responses, unit=north, unit_only="on") == ["autumn_summer_time"]
    assert listed(client, responses, unit=str(world.north_branch.pk), unit_only="on") == [
        "autumn_winter_time",
        "spring_forward",
        "sunday_after_midnight",
        "saturday_late",
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"weekday": "9"}, "weekday", "Choose a day from 0 (Monday) to 6 (Sunday), not 9."),
        (
            {"weekday": "sunday"},
            "weekday",
            "Choose a day from 0 (Monday) to 6 (Sunday), not sunday.",
        ),
        ({"hour": "-1"}, "hour", "Choose an hour from 0 to 23, not -1."),
        ({"hour": "24"}, "hour", "Choose an hour from 0 to 23, not 24."),
        ({"hour": "noon"}, "hour", "Choose an hour from 0 to 23, not noon."),
    ],
)
def test_a_weekday_or_hour_that_cannot_be_read_is_named_on_the_form(
    client, world, responses, query, field, message
):
    client.force_login(world.analyst)
    page = client.get(reverse("responses:list"), {**query, "journey": "moving house"})

    assert page.status_code == 200
    assert page.context["form"].errors == {field: [message]}
    assert message in page.content.decode()
    assert f'id="id_{field}_error"' in page.content.decode()
    # It is left out; the filters that could be read still narrow the list.
    assert [item.pk for item in page.context["page_obj"]] == [responses["spring_forward"].pk]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("outsider", []),
        ("manager_south", []),
        ("frontline", ["autumn_winter_time"]),
        ("manager_north", ["autumn_winter_time", "autumn_summer_time"]),
        ("analyst", ["autumn_winter_time", "autumn_summer_time"]),
    ],
)
def test_a_slice_lists_only_what_the_reader_may_see(client, world, responses, who, sees):
    client.force_login(world.users_by_role[who])
    assert listed(client, responses, weekday="6", hour="3") == sees


def test_a_manager_following_a_link_to_another_subtrees_unit_sees_nothing_of_it(
    client, world, responses
):
    client.force_login(world.manager_north)
    page = client.get(
        reverse("responses:list"),
        {"unit": world.south_branch.pk, "unit_only": "on", "weekday": "0", "hour": "12"},
    )
    assert page.status_code == 200
    assert list(page.context["page_obj"]) == []
    html = page.content.decode()
    assert "South 1" not in html
    assert "No responses match." in html


def test_the_answers_download_holds_the_slices_answers(client, world, responses):
    client.force_login(world.analyst)
    answer = client.get(
        reverse("responses:download", kwargs={"what": "answers"}), {"weekday": "6", "hour": "0"}
    )
    assert answer.status_code == 200
    rows = b"".join(answer.streaming_content).decode().splitlines()
    sunday = responses["sunday_after_midnight"]
    assert [row.split(",")[:4] for row in rows[1:]] == [[str(sunday.pk), "ltr", "nps", "9"]]
    # The answer's own time, in UTC: still Saturday there.
    assert "2026-03-28T22:30:00+00:00" in rows[1]


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"weekday": 6, "hour": 0}, ["sunday_after_midnight"]),
        ({"hour": 3}, ["autumn_winter_time", "autumn_summer_time"]),
        ({"journey": "mortgage", "stage": "signing"}, ["sunday_after_midnight"]),
        ({"unit_id": "north", "unit_only": "true"}, ["autumn_summer_time"]),
    ],
)
def test_the_api_list_takes_the_same_filters(api, world, responses, query, expected):
    names = {response.pk: name for name, response in responses.items()}
    query = {k: world.north.pk if v == "north" else v for k, v in query.items()}
    answer = api.as_("analyst").get("/responses", **query)
    assert answer.status_code == 200
    assert [names[item["id"]] for item in answer.json()["items"]] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"weekday": 9}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"weekday": "sunday"}, "weekday"),
        ({"hour": -1}, "hour"),
        ({"hour": 24}, "hour"),
        ({"hour": "noon"}, "hour"),
    ],
)
def test_the_api_names_a_weekday_or_hour_it_cannot_read(api, responses, query, field):
    answer = api.as_("analyst").get("/responses", **query)
    assert answer.status_code == 422
    assert problem_fields(answer) == [field]


def test_the_api_lists_a_managers_slice_within_their_subtree(api, responses):
    answer = api.as_("manager_south").get("/responses", weekday=6)
    assert answer.status_code == 200
    assert answer.json()["items"] == []
    answer = api.as_("manager_north").get("/responses", weekday=0)
    assert answer.json()["items"] == []
