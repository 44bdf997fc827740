"""Queries answered from the daily tallies give exactly what counting every answer gives."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.analytics.queries import (
    Dimension,
    Filters,
    Metric,
    Period,
    measure_for,
    slices,
)
from sonda.analytics.scope import scoped_answers
from sonda.analytics.tests.analytics_data import generate, measured_survey
from sonda.surveys.tallies import tally_drift

ZONE = ZoneInfo("Europe/Warsaw")

QUERIES = [
    ("ltr", None, (), None, Filters()),
    ("ltr", None, (Dimension.UNIT,), Period.MONTH, Filters()),
    ("ltr", Metric.MEAN, (Dimension.UNIT_PATH,), None, Filters(complete_only=True)),
    ("csat", None, (Dimension.WEEKDAY,), None, Filters(start=date(2026, 3, 29))),
    ("ces", Metric.MEAN, (Dimension.SURVEY,), Period.QUARTER, Filters()),
    ("speed", None, (), Period.WEEK, Filters(start=date(2026, 1, 5), end=date(2026, 4, 26))),
    ("solved", None, (Dimension.PROGRAM,), Period.DAY, Filters(end=date(2026, 2, 1))),
    ("ltr", None, (Dimension.UNIT, Dimension.WEEKDAY), Period.YEAR, Filters()),
]


@pytest.fixture
def records(world):
    world.org.time_zone = ZONE.key
    world.org.save()
    survey = measured_survey(world.scope(world.analyst))
    return generate(
        survey,
        responses=300,
        units=[world.north, world.north_branch, world.south_branch, None],
        employees=[None, world.frontline_person],
    )


def reads_tallies(run) -> bool:
    with CaptureQueriesContext(connection) as queries:
        run()
    return any("surveys_dailytally" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(("key", "metric", "by", "period", "filters"), QUERIES)
@pytest.mark.parametrize("reader", ["analyst", "manager_north"])
def test_tallies_and_answers_count_the_same(
    world, records, reader, key, metric, by, period, filters
):
    scope = world.scope(world.users_by_role[reader])
    tallied = scoped_answers(scope=scope)
    counted = scoped_answers(scope=scope, tallies=False)
    measure = measure_for(answers=tallied, question_key=key, metric=metric)

    def from_tallies():
        return slices(tallied, measure, by=by, period=period, filters=filters)

    expected = slices(counted, measure, by=by, period=period, filters=filters)
    found = from_tallies()
    assert [(s.key, s.tally) for s in found] == [(s.key, s.tally) for s in expected]
    assert found, "the query counts some answers"
    assert reads_tallies(from_tallies)
    assert tally_drift(organisation_id=world.org.pk) == []


@pytest.mark.parametrize(
    ("by", "filters"),
    [
        ((Dimension.HOUR,), Filters()),
        ((Dimension.CHANNEL,), Filters()),
        ((Dimension.UNIT,), Filters(channel="sms")),
        ((), Filters(employee_id=0)),
    ],
)
def test_what_the_tallies_do_not_keep_is_counted_from_the_answers(world, records, by, filters):
    answers = scoped_answers(scope=world.scope(world.analyst))
    measure = measure_for(answers=answers, question_key="ltr")
    assert not reads_tallies(lambda: slices(answers, measure, by=by, filters=filters))


def test_a_frontline_employee_is_counted_from_their_own_answers(world, records):
    answers = scoped_answers(scope=world.scope(world.frontline))
    assert answers.tallies is None
    measure = measure_for(answers=answers, question_key="ltr")
    own = slices(answers, measure)
    assert own[0].n == sum(
        r.employee_id == world.frontline_person.pk for r in records if r.question_key == "ltr"
    )
