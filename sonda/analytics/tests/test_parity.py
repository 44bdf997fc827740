"""The same answers give the same figures on every engine.

2,000 known answers (400 responses × 5 measured questions) across units, employees, channels,
weekdays, hours and both daylight-saving changes are stored in the test database, exported with
`sonda export answers --format parquet`'s code, and queried on the operational database (SQLite
here; PostgreSQL when the suite runs on it), on DuckDB over the Parquet file and on Spark in local
mode over the same file. Counts and tallies must be identical, so the scores are too.
"""

import shutil
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sonda.accounts.access import Scope
from sonda.analytics.engine import (
    Engine,
    duckdb_engine,
    operational_engine,
    pyspark_engine,
    spark_session,
)
from sonda.analytics.queries import (
    Dimension,
    Filters,
    Metric,
    Period,
    _slices_expression,
    measure_for,
    overall,
    slices,
    unit_rollup,
)
from sonda.analytics.scope import scoped_answers
from sonda.analytics.tests.analytics_data import generate, measured_survey
from sonda.org.models import Unit
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.exports import export_parquet
from sonda.surveys.response_selectors import ResponseFilters

MEASURES = [
    ("ltr", Metric.NPS),
    ("ltr", Metric.MEAN),
    ("csat", Metric.TOP_BOX),
    ("ces", Metric.MEAN),
    ("speed", Metric.TOP_BOX),
    ("solved", Metric.YES_SHARE),
]
GROUPINGS: list[tuple[list[Dimension], Period | None]] = [
    ([], None),
    ([Dimension.UNIT, Dimension.CHANNEL], None),
    ([Dimension.WEEKDAY, Dimension.HOUR], None),
    ([Dimension.EMPLOYEE], Period.WEEK),
    ([], Period.DAY),
    ([Dimension.UNIT], Period.MONTH),
    ([], Period.QUARTER),
    ([Dimension.UNIT_PATH], None),
]


@pytest.fixture
def exported(world, tmp_path) -> Path:
    world.org.time_zone = "Europe/Bucharest"
    world.org.save()
    analyst = world.scope(world.analyst)
    survey = measured_survey(analyst)
    colleague = PersonFactory(organisation=world.org, unit=world.south_branch)
    records = generate(
        survey,
        responses=400,
        units=[world.hq, world.north, world.north_branch, world.south_branch],
        employees=[None, world.frontline_person, colleague],
    )
    assert len(records) == 2_000
    path = tmp_path / "answers.parquet"
    assert export_parquet(scope=analyst, what="answers", filters=ResponseFilters(), out=path) == (
        2_000
    )
    return path


def figures(
    scope: Scope, engine: Engine, measures: list[tuple[str, Metric]] = MEASURES
) -> dict[str, Any]:
    """Every measure by every grouping, as comparable plain values."""
    answers = scoped_answers(scope=scope, engine=engine)
    out: dict[str, Any] = {}
    for key, metric in measures:
        measure = measure_for(answers=answers, question_key=key, metric=metric)
        for by, period in GROUPINGS:
            found = slices(answers, measure, by=by, period=period)
            name = f"{key}/{metric}/{'+'.join(by)}/{period}"
            out[name] = [(s.key, s.tally, s.score) for s in found]
        march = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), channel="email")
        out[f"{key}/{metric}/march-email"] = overall(answers, measure, filters=march)
    nps = measure_for(answers=answers, question_key="ltr")
    paths = dict(Unit.objects.filter(organisation=scope.organisation).values_list("pk", "path"))
    by_path = slices(answers, nps, by=[Dimension.UNIT_PATH])
    out["rollup"] = {unit: (s.tally, s.score) for unit, s in unit_rollup(by_path, paths).items()}
    return out


def assert_same(expected: dict[str, Any], got: dict[str, Any], engine: str) -> None:
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        assert got[name] == value, f"{engine} differs on {name}"


def test_duckdb_over_the_parquet_export_gives_the_operational_databases_figures(world, exported):
    analyst = world.scope(world.analyst)
    operational = figures(analyst, operational_engine())
    assert operational["ltr/nps//None"][0][1].n == 400
    assert len(operational["ltr/nps/weekday+hour/None"]) > 100
    duck = figures(analyst, duckdb_engine(exported, organisation_id=world.org.pk))
    assert_same(operational, duck, "duckdb")


def test_scopes_hold_on_the_parquet_engine_too(world, exported):
    engine = duckdb_engine(exported, organisation_id=world.org.pk)
    for user in (world.manager_north, world.frontline):
        scope = world.scope(user)
        assert_same(figures(scope, operational_engine()), figures(scope, engine), "duckdb")
    outsider = world.scope(world.outsider, world.other_org)
    answers = scoped_answers(scope=outsider, engine=engine)
    nps = measure_for(answers=scoped_answers(scope=world.scope(world.analyst)), question_key="ltr")
    assert overall(answers, nps).n == 0


MONTHLY = "sonda_tallies_monthly"
WHOLE_MONTHS = [
    ([Dimension.UNIT], Period.MONTH, Filters(), True),
    ([], Period.QUARTER, Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)), True),
    ([Dimension.UNIT_PATH], None, Filters(start=date(2026, 2, 1), end=date(2026, 3, 31)), True),
    ([Dimension.SURVEY], Period.YEAR, Filters(complete_only=True), True),
    ([Dimension.UNIT], Period.WEEK, Filters(), False),
    ([Dimension.WEEKDAY], None, Filters(), False),
    ([Dimension.UNIT], Period.MONTH, Filters(start=date(2026, 1, 15)), False),
    ([Dimension.UNIT], None, Filters(end=date(2026, 2, 27)), False),
]


@pytest.mark.parametrize(("by", "period", "filters", "monthly"), WHOLE_MONTHS)
@pytest.mark.parametrize("reader", ["analyst", "manager_north"])
def test_whole_months_on_an_export_are_read_from_its_monthly_tallies(
    world, exported, reader, by, period, filters, monthly
):
    engine = duckdb_engine(exported, organisation_id=world.org.pk)
    scope = world.scope(world.users_by_role[reader])
    tallied = scoped_answers(scope=scope, engine=engine)
    counted = scoped_answers(scope=scope, engine=engine, tallies=False)
    for key in ("ltr", "ces"):
        measure = measure_for(answers=tallied, question_key=key)
        found = slices(tallied, measure, by=by, period=period, filters=filters)
        expected = slices(counted, measure, by=by, period=period, filters=filters)
        assert found, "the query counts some answers"
        assert [(s.key, s.tally) for s in found] == [(s.key, s.tally) for s in expected]
        expr = _slices_expression(tallied, measure, by=by, period=period, filters=filters)[1]
        assert (MONTHLY in engine.compile(expr)) is monthly


def test_local_time_is_the_same_on_every_engine_across_daylight_saving(world, exported):
    # The week of the spring change: hours before and after 03:00 local on 29 March.
    analyst = world.scope(world.analyst)
    week = Filters(start=date(2026, 3, 23), end=date(2026, 4, 5))
    results = []
    for engine in (operational_engine(), duckdb_engine(exported, organisation_id=world.org.pk)):
        answers = scoped_answers(scope=analyst, engine=engine)
        nps = measure_for(answers=answers, question_key="ltr")
        results.append(
            [(s.key, s.n) for s in slices(answers, nps, by=[Dimension.HOUR], filters=week)]
        )
    assert results[0] == results[1]
    assert analyst.organisation.time_zone == ZoneInfo("Europe/Bucharest").key


# Spark's Java gateway leaves its sockets to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.slow
def test_spark_in_local_mode_gives_the_same_figures(world, exported):
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH; none is installed here")
    # Each query is a Spark job of seconds: counted classes and sums (shares count as NPS
    # classes do), by every grouping.
    measures = [("ltr", Metric.NPS), ("ces", Metric.MEAN)]
    analyst = world.scope(world.analyst)
    operational = figures(analyst, operational_engine(), measures)
    session = spark_session()
    try:
        engine = pyspark_engine(exported, organisation_id=world.org.pk, session=session)
        assert_same(operational, figures(analyst, engine, measures), "pyspark")
    finally:
        session.stop()
