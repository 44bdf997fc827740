"""/metrics over the API: the same tables as the facade, as JSON with n and intervals, scoped by
role (a manager's figures never count another subtree's answers), problems naming the field."""

from datetime import UTC, datetime
from typing import Any

import pytest

from sonda.analytics.stats import nps_score
from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.tests.metrics_data import store
from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.org.tests.factories import PersonFactory, UnitFactory
from sonda.surveys.tests.factories import make_published_survey

Q2_DAY = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
Q3_DAY = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
NORTH_1 = [10] * 30 + [8] * 10  # the frontline employee's answers
NORTH_1_OTHERS = [6] * 5
SOUTH_1 = [10] * 5 + [8] * 5 + [1] * 30
HQ = [9] * 4


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world):
    survey = measured_survey(world.scope(world.analyst))
    store(
        survey, "ltr", NORTH_1, at=Q3_DAY, unit=world.north_branch, employee=world.frontline_person
    )
    store(survey, "ltr", NORTH_1_OTHERS, at=Q3_DAY, unit=world.north_branch)
    store(survey, "ltr", SOUTH_1, at=Q3_DAY, unit=world.south_branch)
    store(survey, "ltr", HQ, at=Q3_DAY, unit=world.hq)
    store(survey, "ltr", [10] * 40, at=Q2_DAY, unit=world.south_branch)
    return survey


def counts(values: list[int]) -> tuple[int, int, int]:
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return promoters, len(values) - promoters - detractors, detractors


def nps_of(values: list[int]) -> float:
    promoters, _, detractors = counts(values)
    return 100 * (promoters - detractors) / len(values)


# Who counts which answers: managers their subtree, frontline their own, the rest everything.
VISIBLE = {
    "manager_south": SOUTH_1,
    "frontline": NORTH_1,
    "manager_north": NORTH_1 + NORTH_1_OTHERS,
    "executive": NORTH_1 + NORTH_1_OTHERS + SOUTH_1 + HQ,
    "analyst": NORTH_1 + NORTH_1_OTHERS + SOUTH_1 + HQ,
    "admin": NORTH_1 + NORTH_1_OTHERS + SOUTH_1 + HQ,
}


@pytest.mark.parametrize("who", CALLERS)
def test_each_role_counts_only_the_answers_it_may_see(api, world, survey, who):
    response = api.as_(who).get(
        "/metrics",
        question="ltr",
        survey_id=survey.pk,
        date_from="2026-07-01",
        date_to="2026-09-30",
        by="unit_id",
    )
    if who == "anonymous":
        assert response.status_code == 401
        assert problem_fields(response) == []
        return
    if who == "outsider":
        assert response.status_code == 404
        assert problem_fields(response) == []
        return
    assert response.status_code == 200, response.content
    body = response.json()
    expected = nps_score(*counts(VISIBLE[who]), min_base=30)
    assert body["overall"]["n"] == expected.n
    assert body["overall"]["value"] == (None if expected.too_few else pytest.approx(expected.value))
    assert sum(row["n"] for row in body["rows"]) == expected.n
    units = {row["key"][0] for row in body["rows"]}
    if who in ("manager_north", "frontline"):
        assert units == {world.north_branch.pk}
    if who == "manager_south":
        assert units == {world.south_branch.pk}


def test_rows_carry_n_interval_labels_change_and_flags(api, world, survey):
    response = api.as_("analyst").get(
        "/metrics",
        question="ltr",
        by="unit_id",
        date_from="2026-07-01",
        date_to="2026-09-30",
        compare_previous="true",
        flag_below_average="true",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["question"], body["kind"], body["metric"], body["min_base"]) == (
        "ltr",
        "nps",
        "nps",
        30,
    )
    assert (body["previous_from"], body["previous_to"]) == ("2026-04-01", "2026-06-30")
    rows = {row["labels"][0]: row for row in body["rows"]}
    south = rows["South 1"]
    expected = nps_score(*counts(SOUTH_1), min_base=30)
    assert south["key"] == [world.south_branch.pk]
    assert (south["n"], south["too_few"]) == (40, False)
    assert south["value"] == pytest.approx(expected.value)
    assert (south["low"], south["high"]) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
    )
    assert south["previous_n"] == 40
    assert south["previous_value"] == pytest.approx(100.0)
    assert south["change"]["difference"] == pytest.approx(nps_of(SOUTH_1) - 100.0)
    assert south["change"]["p_value"] < 0.001
    assert south["flag"] == "below"
    assert rows["North 1"]["flag"] == "above"
    head_office = rows["Head office"]
    assert (head_office["n"], head_office["too_few"], head_office["value"]) == (4, True, None)
    assert (head_office["low"], head_office["high"], head_office["change"]) == (None, None, None)


def test_by_accepts_a_comma_list_or_repeats_and_trends_by_month(api, world, survey):
    caller = api.as_("analyst")
    listed = caller.get("/metrics", question="ltr", by="channel,weekday", period="month")
    repeated = caller.client.get(
        "/api/v1/metrics",
        [("question", "ltr"), ("by", "channel"), ("by", "weekday"), ("period", "month")],
        headers=caller.headers,
    )
    assert listed.status_code == repeated.status_code == 200, listed.content
    assert listed.json() == repeated.json()
    keys = [(row["key"], row["labels"]) for row in listed.json()["rows"]]
    assert keys == [  # in the order of the dimensions, then the period
        (["email", 0, "2026-08-01"], ["email", "Mon", "2026-08"]),
        (["email", 1, "2026-05-01"], ["email", "Tue", "2026-05"]),
    ]


def test_rollup_by_unit_gives_a_region_its_branches(api, world, survey):
    response = api.as_("executive").get("/metrics", question="ltr", by="unit_id", rollup="true")
    rows = {row["labels"][0]: row["n"] for row in response.json()["rows"]}
    assert rows["North"] == len(NORTH_1 + NORTH_1_OTHERS)
    assert rows["Head office"] == len(NORTH_1 + NORTH_1_OTHERS + SOUTH_1 + HQ) + 40


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "colour"}, "by"),
        ({"by": "unit_id,channel,hour"}, "by"),
        ({"period": "fortnight"}, "period"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-09-01", "date_to": "2026-08-01"}, "date_to"),
        ({"question": "nope"}, "question"),
        ({"metric": "median"}, "metric"),
        ({"metric": "yes_share"}, "metric"),
        ({"compare_previous": "true"}, "compare_previous"),
        ({"flag_below_average": "true"}, "flag_below_average"),
    ],
)
def test_a_bad_query_is_a_problem_naming_the_field(api, survey, query, field):
    response = api.as_("analyst").get("/metrics", **{"question": "ltr", **query})
    assert response.status_code == 422, response.content
    assert problem_fields(response) == [field]


def test_a_missing_question_is_named(api, survey):
    response = api.as_("analyst").get("/metrics")
    assert response.status_code == 422
    assert problem_fields(response) == ["question"]


@pytest.mark.parametrize("name", ["survey_id", "unit_id", "employee_id"])
def test_another_organisations_objects_are_not_found(api, world, survey, name):
    other = world.other_org
    theirs: Any = {
        "survey_id": lambda: make_published_survey(world.scope(world.outsider, other)),
        "unit_id": lambda: UnitFactory(organisation=other, name="Elsewhere"),
        "employee_id": lambda: PersonFactory(
            organisation=other, unit=UnitFactory(organisation=other)
        ),
    }[name]()
    response = api.as_("analyst").get("/metrics", question="ltr", **{name: theirs.pk})
    assert response.status_code == 404
    assert problem_fields(response) == []


def test_a_manager_cannot_narrow_to_a_unit_outside_their_subtree(api, world, survey):
    response = api.as_("manager_north").get("/metrics", question="ltr", unit_id=world.south.pk)
    assert response.status_code == 404
    inside = api.as_("manager_north").get("/metrics", question="ltr", unit_id=world.north.pk)
    assert inside.json()["overall"]["n"] == len(NORTH_1 + NORTH_1_OTHERS)
