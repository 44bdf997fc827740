"""Tables of many cells are scored as columns: the figures must be the very ones the cell-by-cell
path gives — every score, interval, flag, adjusted p-value and effect size, for each measure."""

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest

from sonda.analytics import metrics
from sonda.analytics.columnar import flags_vs_rest, score_columns
from sonda.analytics.metrics import MetricQuery, metric_table
from sonda.analytics.queries import Dimension, Filters, MeasureSpec, Metric, Period
from sonda.analytics.significance import Flag, slice_vs_rest
from sonda.analytics.stats import MeanTally, NpsTally, ShareTally
from sonda.analytics.tests.analytics_data import generate, measured_survey

NPS = MeasureSpec(question_key="ltr", kind="nps", metric=Metric.NPS)
TOP_BOX = MeasureSpec(question_key="csat", kind="csat", metric=Metric.TOP_BOX, top_min=4)
MEAN = MeasureSpec(question_key="speed", kind="rating", metric=Metric.MEAN)


def _nps_tallies(rng: np.random.Generator, size: int) -> list[NpsTally]:
    tallies = [NpsTally(*map(int, rng.integers(0, 60, 3))) for _ in range(size)]
    # Edges: one answer, all promoters, all detractors, unanimous passives, a big slice.
    tallies += [NpsTally(1, 0, 0), NpsTally(40, 0, 0), NpsTally(0, 0, 35), NpsTally(0, 31, 0)]
    tallies.append(NpsTally(9_000, 4_000, 2_500))
    return [t for t in tallies if t.n > 0]


def _share_tallies(rng: np.random.Generator, size: int) -> list[ShareTally]:
    tallies = []
    for _ in range(size):
        n = int(rng.integers(1, 90))
        tallies.append(ShareTally(int(rng.integers(0, n + 1)), n))
    return [*tallies, ShareTally(0, 1), ShareTally(1, 1), ShareTally(50, 50), ShareTally(0, 44)]


def _mean_tallies(rng: np.random.Generator, size: int) -> list[MeanTally]:
    tallies = []
    for _ in range(size):
        values = rng.integers(1, 6, int(rng.integers(1, 80))).astype(float).tolist()
        tallies.append(MeanTally.of(values))
    return [*tallies, MeanTally.of([3.0]), MeanTally.of([4.0] * 40), MeanTally.of([1.0, 5.0])]


def _counts(measure: MeasureSpec, tallies: list[Any]) -> dict[str, np.ndarray]:
    def column(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=np.float64)

    if measure.metric == Metric.NPS:
        return {
            "n": column([t.n for t in tallies]),
            "promoters": column([t.promoters for t in tallies]),
            "detractors": column([t.detractors for t in tallies]),
        }
    if measure.metric == Metric.TOP_BOX:
        successes = [t.successes for t in tallies]
        return {"n": column([t.n for t in tallies]), "successes": column(successes)}
    return {
        "n": column([t.n for t in tallies]),
        "total": column([t.total for t in tallies]),
        "squares": column([t.total_of_squares for t in tallies]),
    }


MEASURES = [(NPS, _nps_tallies), (TOP_BOX, _share_tallies), (MEAN, _mean_tallies)]


@pytest.mark.parametrize(("measure", "tallies_of"), MEASURES, ids=["nps", "top box", "mean"])
def test_each_cells_score_is_the_one_its_tally_gives(measure, tallies_of):
    tallies = tallies_of(np.random.default_rng(3), 200)
    scored = score_columns(measure, _counts(measure, tallies))
    for i, tally in enumerate(tallies):
        assert scored.score(i) == tally.score(min_base=measure.min_base), tally


@pytest.mark.parametrize(("measure", "tallies_of"), MEASURES, ids=["nps", "top box", "mean"])
@pytest.mark.parametrize("size", [1, 2, 40, 300])
def test_flags_against_the_rest_are_those_of_slice_vs_rest(measure, tallies_of, size):
    tallies = tallies_of(np.random.default_rng(size), size)
    expected = slice_vs_rest(dict(enumerate(tallies)), min_base=measure.min_base)
    found = flags_vs_rest(measure, _counts(measure, tallies))
    for i, comparison in enumerate(expected):
        flag = "" if comparison.flag == Flag.NONE else comparison.flag.value
        assert (found.flags[i], found.q_values[i], found.effects[i]) == (
            flag,
            comparison.q_value,
            comparison.effect_size,
        ), tallies[i]
    if size == 300 and measure is NPS:
        assert {"below", "above"} <= set(found.flags)  # the comparison flagged something


@pytest.fixture
def answered(world):
    survey = measured_survey(world.scope(world.analyst))
    units = [world.north, world.north_branch, world.south_branch, None]
    generate(survey, responses=900, units=units, employees=[None, world.frontline_person])
    return survey


QUERIES = {
    "unit × month": MetricQuery(question="ltr", by=(Dimension.UNIT,), period=Period.MONTH),
    "units flagged": MetricQuery(question="ltr", by=(Dimension.UNIT,), flag_below_average=True),
    "weekday × hour flagged": MetricQuery(
        question="csat", by=(Dimension.WEEKDAY, Dimension.HOUR), flag_below_average=True
    ),
    "channel by week, a mean": MetricQuery(
        question="speed", metric=Metric.MEAN, by=(Dimension.CHANNEL,), period=Period.WEEK
    ),
    "employee, yes share": MetricQuery(
        question="solved", by=(Dimension.EMPLOYEE,), flag_below_average=True
    ),
    "quarters in a range": MetricQuery(
        question="ces",
        period=Period.QUARTER,
        filters=Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)),
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
@pytest.mark.parametrize("reader", ["analyst", "manager_north"])
def test_the_columnar_table_equals_the_cell_by_cell_one(world, answered, monkeypatch, name, reader):
    scope = world.scope(getattr(world, reader))
    query = QUERIES[name]
    assert metrics._columnar(query)
    columnar = metric_table(scope=scope, query=query)
    monkeypatch.setattr(metrics, "_columnar", lambda query: False)
    cell_by_cell = metric_table(scope=scope, query=query)
    assert len(columnar.rows) > 1
    assert list(columnar.rows) == list(cell_by_cell.rows)
    assert columnar.rows == cell_by_cell.rows
    assert columnar.overall == cell_by_cell.overall
    assert columnar.rows[-1] == cell_by_cell.rows[-1]
    assert columnar.rows[1:3] == cell_by_cell.rows[1:3]
    assert columnar.rows[0] is next(iter(columnar.rows))  # a row read again is not built again


def test_a_query_without_answers_has_no_rows_and_an_empty_overall_figure(world, answered):
    query = replace(
        QUERIES["units flagged"], filters=Filters(start=date(2020, 1, 1), end=date(2020, 1, 31))
    )
    table = metric_table(scope=world.scope(world.analyst), query=query)
    assert list(table.rows) == []
    assert (table.overall.score.n, table.overall.score.value) == (0, None)
