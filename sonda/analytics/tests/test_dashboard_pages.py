"""What the dashboards show: headline measures with n, interval and change, units ranked with
their flags, employees, weekday × hour and the slices below the rest; never a number from too
few answers, and every figure a link to the responses behind it."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.analytics.tests.analytics_data import measured_survey
from sonda.core.calendar import day_number, hour_of
from sonda.core.testing.calendar import organisation_zone
from sonda.org.models import Person, Unit
from sonda.org.tests.factories import PersonFactory, UnitFactory
from sonda.surveys.models import Answer, Response, Survey

# Well inside the default period (the last twelve months), whatever the time zone.
RECENTLY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


def store(
    survey: Survey,
    scores: list[int],
    *,
    unit: Unit,
    employee: Person | None = None,
    at: datetime = RECENTLY,
    channel: str = "email",
) -> None:
    """One complete response per score: the NPS question answered with it, CSAT with 5 for
    promoters, 3 for passives and 1 for detractors."""
    version = survey.versions.get(status="published")
    questions = {q.key: q for q in version.questions.all()}
    time_zone = organisation_zone(survey.organisation_id)
    responses = Response.objects.bulk_create(
        [
            Response(
                organisation_id=survey.organisation_id,
                survey=survey,
                version=version,
                unit=unit,
                employee=employee,
                channel=channel,
                language="en",
                status="complete",
                source="demo",
                started_at=at - timedelta(minutes=3),
                completed_at=at,
            )
            for _ in scores
        ]
    )
    answers = []
    for response, value in zip(responses, scores, strict=True):
        csat = 5 if value >= 9 else 3 if value >= 7 else 1
        for key, number in (("ltr", value), ("csat", csat)):
            answers.append(
                Answer(
                    organisation_id=survey.organisation_id,
                    response=response,
                    question=questions[key],
                    question_key=key,
                    kind=questions[key].kind,
                    value_number=float(number),
                    program_id=survey.program_id,
                    survey=survey,
                    version=version,
                    unit=unit,
                    unit_path=unit.path,
                    employee=employee,
                    channel=channel,
                    language="en",
                    answered_at=at,
                    local_day=day_number(at, time_zone),
                    local_hour=hour_of(at, time_zone),
                    is_complete=True,
                )
            )
    Answer.objects.bulk_create(answers)


@pytest.fixture
def bank(world):
    """North 1 delights (36 promoters of 40, 30 of them served by Ana), South 1 disappoints
    (36 detractors of 40), and the head office has only 12 answers: too few for a figure."""
    survey = measured_survey(world.scope(world.analyst))
    south_person = PersonFactory(
        organisation=world.org, unit=world.south_branch, full_name="Bogdan South"
    )
    store(survey, [10] * 30, unit=world.north_branch, employee=world.frontline_person)
    store(survey, [10] * 6 + [8] * 4, unit=world.north_branch)
    store(survey, [2] * 36 + [9] * 4, unit=world.south_branch, employee=south_person)
    store(survey, [9] * 12, unit=world.hq)
    return survey


def page(client, user, name: str, *args, **params) -> str:
    client.force_login(user)
    response = client.get(reverse(f"dashboards:{name}", args=args), params)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def row_of(html: str, label: str) -> str:
    """The table row whose header cell reads `label`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        if re.search(rf"<th scope=\"row\">(<a [^>]*>)?{re.escape(label)}(</a>)?</th>", row):
            return row
    raise AssertionError(f"no row {label!r}")


def test_the_overview_shows_each_headline_measure_with_n_interval_and_change(world, client, bank):
    html = page(client, world.analyst, "overview")

    nps = unescape(row_of(html, "Recommend us? (ltr)"))
    # 30 + 10 + 40 + 12 answers: 52 promoters, 4 passives, 36 detractors.
    assert "n = 92" in nps
    assert '<strong class="score-value">+' in nps
    assert " to " in nps  # the interval
    assert "no comparison" in nps  # nothing was answered in the previous period
    csat = unescape(row_of(html, "Satisfied? (csat)"))
    assert "n = 92" in csat
    assert "%" in csat
    # The CES question of the survey is a headline too, with no answers.
    assert "no answers" in unescape(row_of(html, "Easy? (ces)"))
    # Its program is transactional: there is no relationship NPS to set beside it.
    transactional = row_of(html, "Transactional (after interactions, bottom-up)")
    assert "n = 92" in transactional
    assert "Relationship (periodic" not in html


def test_the_change_against_the_previous_period_says_whether_it_is_significant(world, client, bank):
    a_year_ago = RECENTLY - timedelta(days=200)
    store(bank, [0] * 60, unit=world.north_branch, at=a_year_ago)
    start = (a_year_ago + timedelta(days=20)).date()
    html = page(
        client,
        world.analyst,
        "overview",
        date_from=start.isoformat(),
        date_to=RECENTLY.date().isoformat(),
    )
    # The previous period, of the same length, holds the 60 detractors.
    nps = unescape(row_of(html, "Recommend us? (ltr)"))
    assert re.search(r"\+\d+\.\d points", nps)
    assert "p < 0.001" in nps
    assert "significant" in nps


def test_a_base_below_the_minimum_is_greyed_with_its_n_and_never_a_number(world, client, bank):
    html = page(client, world.analyst, "units")

    head_office = row_of(html, "Head office")
    assert "too few answers (n = 12)" in head_office
    assert "score-too-few muted" in head_office
    assert "score-value" not in head_office
    assert "+100" not in head_office  # its 12 promoters' NPS is nowhere in the row
    assert "not tested" in head_office
    # Nor in the chart: its point has no value.
    option = chart_option(html, "units-chart")
    labels = option["yAxis"]["data"]
    dots = option["series"][-1]["data"]
    assert dots[labels.index("Head office")]["value"] is None


def chart_option(html: str, chart_id: str) -> dict[str, Any]:
    import json

    found = re.search(
        rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, flags=re.S
    )
    assert found, f"no json_script block {chart_id}"
    return json.loads(found.group(1))


def test_charts_are_embedded_as_json_script_blocks_drawn_by_the_static_script(world, client, bank):
    html = page(client, world.analyst, "overview")

    assert 'data-echarts="trend-chart"' in html
    option = chart_option(html, "trend-chart")
    assert [s["type"] for s in option["series"]] == ["line", "line", "line"]
    (point,) = option["series"][-1]["data"]
    assert point["value"] > 0
    assert point["url"].startswith(reverse("responses:list") + "?")
    assert "/static/analytics/charts.js" in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "<script>" not in html
    assert " style=" not in html


def test_units_are_ranked_with_the_ones_below_and_above_the_rest_flagged(world, client, bank):
    html = page(client, world.executive, "units")

    north, south = row_of(html, "North 1"), row_of(html, "South 1")
    assert html.index("North 1") < html.index("South 1")
    assert "badge-yes" in north
    assert ">above<" in north
    assert "badge-no" in south
    assert ">below<" in south
    assert "n = 40" in north
    assert "n = 40" in south
    assert "p &lt; 0.001" in south or "p = " in south
    # Each row drills down to its unit's responses in the period.
    link = re.search(r'href="([^"]*unit=[^"]*)"', south)
    assert link is not None
    url = unescape(link.group(1))
    assert f"unit={world.south_branch.pk}" in url
    assert f"survey={bank.pk}" in url
    assert "completed_from=" in url
    assert "completed_to=" in url


def test_the_roll_up_counts_each_region_with_its_branches(world, client, bank):
    html = page(client, world.analyst, "units", rollup="on")

    assert "n = 40" in row_of(html, "North")
    assert "n = 92" in row_of(html, "Head office")


def test_a_manager_sees_only_their_subtree(world, client, bank):
    html = page(client, world.manager_south, "units")
    assert "South 1" in html
    assert "North 1" not in html
    assert "Head office" not in html

    overview = unescape(page(client, world.manager_south, "overview"))
    assert "n = 40" in row_of(overview, "Recommend us? (ltr)")


def test_employees_are_ranked_and_each_opens_their_own_dashboard(world, client, bank):
    html = page(client, world.analyst, "employees")
    ana = row_of(html, "Ana Frontline")
    assert "n = 30" in ana
    assert reverse("dashboards:employee", args=[world.frontline_person.pk]) in ana
    assert "Bogdan South" in html


def test_a_frontline_employee_sees_only_their_own_results(world, client, bank):
    html = page(client, world.frontline, "employees")
    assert "Your results" in html
    assert "n = 30" in row_of(html, "Ana Frontline")
    assert "Bogdan South" not in html

    own = unescape(page(client, world.frontline, "employee", world.frontline_person.pk))
    assert "Results of Ana Frontline" in own
    nps = row_of(own, "Recommend us? (ltr)")
    assert "n = 30" in nps
    assert "+100" in nps
    assert f"employee={world.frontline_person.pk}" in own


def test_the_weekday_hour_page_draws_a_heat_map_of_the_answers(world, client, bank):
    html = page(client, world.analyst, "heatmap")

    option = chart_option(html, "heatmap-chart")
    (series,) = option["series"]
    assert series["type"] == "heatmap"
    # All the answers came at one moment: one cell, its hour and weekday on the local clock.
    (cell,) = series["data"]
    assert len(cell["value"]) == 3
    assert "links to the responses answered then" in html


def test_the_below_average_page_lists_the_slices_below_and_above_the_rest(world, client, bank):
    html = page(client, world.analyst, "below_average", dimension="unit_id")

    below = html.split("Significantly below the rest")[1].split("Significantly above")[0]
    above = html.split("Significantly above the rest")[1].split("<details>")[0]
    assert "South 1" in below
    assert "North 1" not in below
    assert "North 1" in above
    assert re.search(r"<td>[+-]\d\.\d\d</td>", below)  # the effect size
    assert "n = 40" in below


def test_pages_without_a_measured_survey_say_so(world, client):
    html = page(client, world.analyst, "overview")
    assert "No published survey with a measured question yet." in html


def queries_for(client, user, name: str) -> int:
    client.force_login(user)
    cache.clear()  # the segment list is kept between pages: count a page that reads it
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(f"dashboards:{name}")).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["overview", "units", "employees", "heatmap", "below_average"])
def test_a_dashboard_costs_the_same_queries_for_two_units_or_many(world, client, bank, name):
    few = queries_for(client, world.analyst, name)
    for number in range(5):
        branch = UnitFactory(
            organisation=world.org,
            code=f"N{number + 2}",
            name=f"North {number + 2}",
            parent=world.north,
            unit_type=world.north_branch.unit_type,
        )
        person = PersonFactory(organisation=world.org, unit=branch)
        store(bank, [9] * 31, unit=branch, employee=person)
    assert queries_for(client, world.analyst, name) == few
