"""Every dashboard figure links to exactly the responses it counted.

The weekday × hour heat-map's cells, its weekday and hour rows, the units (alone or rolled up
with their subtree) and the journey, stage and other slices below or above the rest each open
the responses list with filters that select their answers: as many responses are listed as the
figure's n, on the organisation's clock across both daylight-saving changes, and an answer just
after local midnight (still the day before in UTC) lands in the local day's cell and its list.
A manager's links open within their own subtree, and their dashboard is titled by their unit.
"""

import random
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.views import Line
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.models import Response, Survey
from sonda.surveys.tests.responses_helpers import store

BUCHAREST = ZoneInfo("Europe/Bucharest")
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-11-30"}
JOURNEYS = {"mortgage": ("application", "signing"), "moving house": ("first call", "first bill")}
# Sunday 29 March 2026, 00:30 in Bucharest (UTC+2): still Saturday in UTC.
AFTER_MIDNIGHT = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
# Sunday 25 October 2026, 03:30 in Bucharest twice: on summer time, then an hour later on
# winter time.
TWICE_AT_HALF_PAST_THREE = (
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
)


@pytest.fixture
def answered(world) -> tuple[Survey, list[Response]]:
    """Eighty responses in Bucharest time around both of 2026's clock changes, at the four
    units (the North region itself among them), each with a journey and stage, a channel, a
    touchpoint and an employee; plus the answer after midnight and the two at 03:30."""
    world.org.time_zone = "Europe/Bucharest"
    world.org.save(update_fields=["time_zone"])
    survey = measured_survey(world.scope(world.analyst))
    south_person = PersonFactory(
        organisation=world.org, unit=world.south_branch, full_name="Bogdan South"
    )
    draw = random.Random(29)
    units = [world.north_branch, world.north, world.south_branch, world.hq]
    people = [world.frontline_person, south_person]
    changes = [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]
    moments = [
        draw.choice(changes) + timedelta(minutes=draw.randrange(-3 * 24 * 60, 3 * 24 * 60))
        for _ in range(80)
    ]
    moments += [AFTER_MIDNIGHT, *TWICE_AT_HALF_PAST_THREE]
    responses = []
    for index, moment in enumerate(moments):
        journey = draw.choice(sorted(JOURNEYS))
        responses.append(
            store(
                survey,
                {"ltr": draw.randrange(11), "csat": draw.randrange(1, 6)},
                completed_at=moment,
                unit_id=units[index % len(units)].pk,
                employee_id=draw.choice(people).pk,
                channel=draw.choice(["email", "sms"]),
                touchpoint=draw.choice(["branch", "call centre"]),
                journey=journey,
                stage=draw.choice(JOURNEYS[journey]),
            )
        )
    return survey, responses


def dashboard(client, user, name: str, survey: Survey, **params) -> dict[str, Any]:
    client.force_login(user)
    page = client.get(
        reverse(f"dashboards:{name}"), {"survey": survey.pk, "question": "ltr", **PERIOD, **params}
    )
    assert page.status_code == 200
    return page.context


def listed(client, url: str) -> list[int]:
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["form"].errors, page.context["form"].errors
    return [response.pk for response in page.context["page_obj"].paginator.object_list]


def filters_of(line: Line) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(line.url).query).items()}


def assert_each_link_lists_its_n(client, lines: list[Line]) -> None:
    assert lines
    for line in lines:
        assert len(listed(client, line.url)) == line.score.n, (line.label, line.url)


def test_every_heat_map_cell_weekday_and_hour_links_to_exactly_its_answers(world, client, answered):
    survey, _ = answered
    context = dashboard(client, world.analyst, "heatmap", survey)

    assert_each_link_lists_its_n(client, context["lines"])
    assert_each_link_lists_its_n(client, context["weekdays"])
    assert_each_link_lists_its_n(client, context["hours"])
    # The cells hold every answer once, and their links together every response once.
    everyone: list[int] = []
    for line in context["lines"]:
        everyone += listed(client, line.url)
    assert len(everyone) == len(set(everyone)) == sum(ln.score.n for ln in context["lines"]) == 83
    cell = next(ln for ln in context["lines"] if ln.label == "Sun · 00:00–00:59")
    assert filters_of(cell) == {
        "survey": str(survey.pk),
        "completed_from": "2026-03-01",
        "completed_to": "2026-11-30",
        "weekday": "6",
        "hour": "0",
    }


def test_an_answer_after_local_midnight_counts_and_lists_on_the_local_day(world, client, answered):
    survey, responses = answered
    after_midnight = next(r for r in responses if r.completed_at == AFTER_MIDNIGHT)
    sunday_first_hour = [
        r.pk
        for r in responses
        if r.completed_at.astimezone(BUCHAREST).weekday() == 6
        and r.completed_at.astimezone(BUCHAREST).hour == 0
    ]
    context = dashboard(client, world.analyst, "heatmap", survey)

    cell = next(ln for ln in context["lines"] if ln.label == "Sun · 00:00–00:59")
    assert cell.score.n == len(sunday_first_hour)
    assert after_midnight.pk in listed(client, cell.url)
    assert sorted(listed(client, cell.url)) == sorted(sunday_first_hour)
    # Nothing of it on Saturday, its UTC day.
    saturday = next(ln for ln in context["weekdays"] if filters_of(ln)["weekday"] == "5")
    assert after_midnight.pk not in listed(client, saturday.url)


def test_both_half_past_threes_of_the_autumn_change_are_one_cell(world, client, answered):
    survey, responses = answered
    twice = {r.pk for r in responses if r.completed_at in TWICE_AT_HALF_PAST_THREE}
    context = dashboard(client, world.analyst, "heatmap", survey)

    cell = next(ln for ln in context["lines"] if ln.label == "Sun · 03:00–03:59")
    assert twice <= set(listed(client, cell.url))
    assert len(listed(client, cell.url)) == cell.score.n


@pytest.mark.parametrize(
    "dimension",
    [
        "journey",
        "stage",
        "unit_id",
        "employee_id",
        "channel",
        "touchpoint",
        "language",
        "weekday",
        "hour",
    ],
)
def test_each_slice_below_or_above_the_rest_links_to_exactly_its_answers(
    world, client, answered, dimension
):
    survey, _ = answered
    context = dashboard(client, world.analyst, "below_average", survey, dimension=dimension)
    assert_each_link_lists_its_n(client, context["lines"])


def test_journey_and_stage_links_name_their_labels(world, client, answered):
    survey, _ = answered
    journeys = dashboard(client, world.analyst, "below_average", survey, dimension="journey")
    assert sorted(filters_of(ln)["journey"] for ln in journeys["lines"]) == sorted(JOURNEYS)
    stages = dashboard(client, world.analyst, "below_average", survey, dimension="stage")
    assert sorted(filters_of(ln)["stage"] for ln in stages["lines"]) == sorted(
        stage for pair in JOURNEYS.values() for stage in pair
    )


def test_units_link_to_their_own_answers_or_on_a_roll_up_to_their_subtrees(world, client, answered):
    survey, _ = answered
    alone = dashboard(client, world.analyst, "units", survey)["lines"]
    assert_each_link_lists_its_n(client, alone)
    north = next(ln for ln in alone if ln.label == "North")
    assert filters_of(north)["unit_only"] == "1"

    rolled = dashboard(client, world.analyst, "units", survey, rollup="on")["lines"]
    assert_each_link_lists_its_n(client, rolled)
    head_office = next(ln for ln in rolled if ln.label == "Head office")
    assert head_office.score.n == 83
    assert "unit_only" not in filters_of(head_office)


def test_links_keep_the_pages_channel_and_count_within_it(world, client, answered):
    survey, _ = answered
    context = dashboard(client, world.analyst, "heatmap", survey, channel="sms")
    assert all(filters_of(line)["channel"] == "sms" for line in context["lines"])
    assert_each_link_lists_its_n(client, context["lines"])
    assert_each_link_lists_its_n(client, context["hours"])


def test_a_managers_links_list_their_subtrees_answers_only(world, client, answered):
    survey, _ = answered
    context = dashboard(client, world.manager_north, "heatmap", survey)
    # North 1 and the North region: half of the responses.
    assert sum(line.score.n for line in context["weekdays"]) == 42
    assert_each_link_lists_its_n(client, context["weekdays"])
    assert_each_link_lists_its_n(client, context["lines"])
    units = dashboard(client, world.manager_north, "units", survey)["lines"]
    assert sorted(line.label for line in units) == ["North", "North 1"]
    assert_each_link_lists_its_n(client, units)


def test_a_manager_following_another_subtrees_link_sees_nothing_of_it(world, client, answered):
    survey, responses = answered
    units = dashboard(client, world.analyst, "units", survey)["lines"]
    south = next(line for line in units if line.label == "South 1")
    south_ids = {r.pk for r in responses if r.unit_id == world.south_branch.pk}
    assert set(listed(client, south.url)) == south_ids

    client.force_login(world.manager_north)
    page = client.get(south.url)
    assert page.status_code == 200
    shown = {response.pk for response in page.context["page_obj"].paginator.object_list}
    assert not shown & south_ids
    assert "South 1" not in page.content.decode()

    client.force_login(world.manager_south)
    assert set(listed(client, south.url)) == south_ids


def heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, flags=re.S)
    assert found
    return unescape(found.group(1)).strip()


def test_a_managers_dashboard_is_titled_by_their_unit(world, client, answered):
    world.north.name = "București-Ilfov"
    world.north.save(update_fields=["name"])
    client.force_login(world.manager_north)
    assert heading(client.get(reverse("dashboards:overview")).content.decode()) == (
        "Dashboard of București-Ilfov"
    )
    client.force_login(world.analyst)
    assert heading(client.get(reverse("dashboards:overview")).content.decode()) == (
        "Dashboard of Banca Demo"
    )
    client.force_login(world.executive)
    assert heading(client.get(reverse("dashboards:overview")).content.decode()) == (
        "Dashboard of Banca Demo"
    )
