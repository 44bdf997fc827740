"""The metrics facade: tables of scores by unit, weekday and period, with change, flags and
weights, checked against figures computed here from the answers stored."""

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy import stats as scipy_stats

from sonda.analytics.metrics import (
    MetricQuery,
    competitor_scores,
    metric_table,
    period_label,
    period_range,
    previous_range,
    relationship_vs_transactional,
    side_by_side,
)
from sonda.analytics.queries import Dimension, Filters, Metric, Period
from sonda.analytics.stats import nps_score, top_box_share
from sonda.analytics.stats_weights import weighted_nps
from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.tests.metrics_data import store
from sonda.core.errors import NotFound, ValidationFailed
from sonda.listening.tests.listening_factories import make_customer
from sonda.surveys.tests.factories import make_program, make_published_survey

Q2_DAY = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)  # a Tuesday
Q3_DAY = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)  # a Monday
Q3 = Filters(start=date(2026, 7, 1), end=date(2026, 9, 30))

# The planted answers to "ltr": North 1 is strong, South 1 weak, North itself has ten answers.
Q2_NORTH_1 = [10] * 20 + [8] * 10 + [3] * 10
Q2_SOUTH_1 = [10] * 10 + [7] * 10 + [2] * 20
Q3_NORTH_1 = [10] * 30 + [8] * 10
Q3_SOUTH_1 = [10] * 5 + [8] * 5 + [1] * 30
Q3_NORTH = [9] * 10


def counts(values: Sequence[float]) -> tuple[int, int, int]:
    scores = np.array(values)
    promoters, detractors = int(np.sum(scores >= 9)), int(np.sum(scores <= 6))
    return promoters, len(scores) - promoters - detractors, detractors


def nps_of(values: Sequence[float]) -> float:
    p, _, d = counts(values)
    return 100 * (p - d) / len(values)


def plain_se(values: Sequence[float]) -> float:
    v = np.where(np.array(values) >= 9, 1.0, np.where(np.array(values) <= 6, -1.0, 0.0))
    return 100 * math.sqrt(np.var(v) / len(values))


@pytest.fixture
def survey(world):
    survey = measured_survey(world.scope(world.analyst))
    store(survey, "ltr", Q2_NORTH_1, at=Q2_DAY, unit=world.north_branch)
    store(survey, "ltr", Q2_SOUTH_1, at=Q2_DAY, unit=world.south_branch)
    store(
        survey,
        "ltr",
        Q3_NORTH_1,
        at=Q3_DAY,
        unit=world.north_branch,
        employee=world.frontline_person,
    )
    store(survey, "ltr", Q3_SOUTH_1, at=Q3_DAY, unit=world.south_branch)
    store(survey, "ltr", Q3_NORTH, at=Q3_DAY, unit=world.north)
    return survey


def test_nps_by_unit_has_each_units_score_and_name(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(question="ltr", by=(Dimension.UNIT,), filters=Q3),
    )
    by_key = {row.key: row for row in table.rows}
    assert [row.key for row in table.rows] == sorted(by_key)
    assert by_key[(world.north_branch.pk,)].labels == ("North 1",)
    assert by_key[(world.north_branch.pk,)].score == nps_score(*counts(Q3_NORTH_1), min_base=30)
    assert by_key[(world.south_branch.pk,)].score.value == pytest.approx(nps_of(Q3_SOUTH_1))
    north = by_key[(world.north.pk,)].score
    assert (north.n, north.too_few, north.shown_value) == (10, True, None)
    everything = Q3_NORTH_1 + Q3_SOUTH_1 + Q3_NORTH
    assert table.overall.score == nps_score(*counts(everything), min_base=30)
    assert table.measure.metric == Metric.NPS


def test_without_dimensions_the_overall_row_is_the_figure(world, survey):
    table = metric_table(scope=world.scope(world.executive), query=MetricQuery(question="ltr"))
    assert table.rows == []
    assert table.overall.score.n == 40 + 40 + 40 + 40 + 10


def test_rollup_gives_each_unit_its_whole_subtree(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(question="ltr", by=(Dimension.UNIT,), filters=Q3, rollup=True),
    )
    rows = {row.key[0]: row for row in table.rows}
    assert [row.labels[0] for row in table.rows] == [
        "Head office",
        "North",
        "North 1",
        "South",
        "South 1",
    ]
    assert rows[world.hq.pk].score.n == 90
    assert rows[world.north.pk].score == nps_score(*counts(Q3_NORTH + Q3_NORTH_1), min_base=30)
    assert rows[world.south.pk].score == rows[world.south_branch.pk].score


def test_change_against_the_previous_quarter_is_tested(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(question="ltr", by=(Dimension.UNIT,), filters=Q3, compare_previous=True),
    )
    assert table.previous_range == (date(2026, 4, 1), date(2026, 6, 30))
    south = next(row for row in table.rows if row.key == (world.south_branch.pk,))
    assert south.previous is not None
    assert south.previous.n == 40
    assert south.change is not None
    expected = nps_of(Q3_SOUTH_1) - nps_of(Q2_SOUTH_1)
    se = math.hypot(plain_se(Q3_SOUTH_1), plain_se(Q2_SOUTH_1))
    assert south.change.difference == pytest.approx(expected)
    assert south.change.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(expected / se)))
    assert south.change.low == pytest.approx(expected - 1.959964 * se, abs=1e-4)
    north = next(row for row in table.rows if row.key == (world.north.pk,))
    assert (north.previous, north.change) == (None, None)  # no answers in Q2
    assert table.overall.previous is not None
    assert table.overall.previous.n == 80


def test_a_quarterly_trend_compares_each_quarter_with_the_one_before(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(question="ltr", period=Period.QUARTER, compare_previous=True),
    )
    assert [row.key for row in table.rows] == [(date(2026, 4, 1),), (date(2026, 7, 1),)]
    assert [row.labels for row in table.rows] == [("2026-Q2",), ("2026-Q3",)]
    q2, q3 = table.rows
    assert q2.change is None
    assert q3.previous == q2.score
    assert q3.change is not None
    assert q3.change.difference == pytest.approx(
        nps_of(Q3_NORTH_1 + Q3_SOUTH_1 + Q3_NORTH) - nps_of(Q2_NORTH_1 + Q2_SOUTH_1)
    )


def test_a_trend_from_a_date_counts_the_period_before_it(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr",
            by=(Dimension.UNIT,),
            period=Period.QUARTER,
            filters=Filters(start=date(2026, 7, 1)),
            compare_previous=True,
        ),
    )
    south = next(row for row in table.rows if row.key[0] == world.south_branch.pk)
    assert south.key == (world.south_branch.pk, date(2026, 7, 1))
    assert south.labels == ("South 1", "2026-Q3")
    assert south.previous == nps_score(*counts(Q2_SOUTH_1), min_base=30)


def test_below_and_above_average_units_are_flagged_with_bh_control(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr", by=(Dimension.UNIT,), filters=Q3, flag_below_average=True
        ),
    )
    rows = {row.key[0]: row for row in table.rows}
    south, north_1 = rows[world.south_branch.pk], rows[world.north_branch.pk]
    assert (south.flag, north_1.flag) == ("below", "above")
    assert rows[world.north.pk].flag == ""
    assert rows[world.north.pk].p_adjusted is None
    # Two tested slices (North is below the minimum base): BH multiplies the smaller p by 2.
    p = []
    for values, rest in ((Q3_SOUTH_1, Q3_NORTH_1 + Q3_NORTH), (Q3_NORTH_1, Q3_SOUTH_1 + Q3_NORTH)):
        z = (nps_of(values) - nps_of(rest)) / math.hypot(plain_se(values), plain_se(rest))
        p.append(2 * scipy_stats.norm.sf(abs(z)))
    low, high = sorted(p)
    expected = {min(p): min(1.0, 2 * low), max(p): min(1.0, max(2 * low, high))}
    assert south.p_adjusted == pytest.approx(expected[p[0]])
    assert north_1.p_adjusted == pytest.approx(expected[p[1]])
    assert south.effect is not None
    assert south.effect < 0


def test_a_manager_counts_only_their_subtree(world, survey):
    table = metric_table(
        scope=world.scope(world.manager_north),
        query=MetricQuery(question="ltr", by=(Dimension.UNIT,), filters=Q3, rollup=True),
    )
    assert {row.key[0] for row in table.rows} == {world.north.pk, world.north_branch.pk}
    assert table.overall.score.n == len(Q3_NORTH_1 + Q3_NORTH)


def test_frontline_counts_only_their_own_answers(world, survey):
    table = metric_table(
        scope=world.scope(world.frontline), query=MetricQuery(question="ltr", filters=Q3)
    )
    assert table.overall.score == nps_score(*counts(Q3_NORTH_1), min_base=30)


def test_weekday_and_hour_have_readable_labels(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(question="ltr", by=(Dimension.WEEKDAY, Dimension.HOUR)),
    )
    assert [(row.key, row.labels) for row in table.rows] == [
        ((0, 12), ("Mon", "12:00")),
        ((1, 12), ("Tue", "12:00")),
    ]


def test_top_box_is_the_default_for_csat(world):
    survey = measured_survey(world.scope(world.analyst))
    store(survey, "csat", [5, 4, 3, 1], at=Q3_DAY, unit=world.north)
    table = metric_table(scope=world.scope(world.analyst), query=MetricQuery(question="csat"))
    assert table.overall.score == top_box_share(2, 4, min_base=30)


def test_weighted_nps_matches_the_answer_by_answer_computation(world):
    survey = measured_survey(world.scope(world.analyst))
    gold = make_customer(world.org, attributes={"tier": "gold"})
    basic = make_customer(world.org, attributes={"tier": "basic"})
    gold_values, basic_values = [10] * 30 + [5] * 10, [10] * 5 + [2] * 5
    store(survey, "ltr", gold_values, at=Q3_DAY, unit=world.north_branch, customer=gold)
    store(survey, "ltr", basic_values, at=Q3_DAY, unit=world.north_branch, customer=basic)
    store(survey, "ltr", [10] * 7, at=Q3_DAY, unit=world.north_branch)  # no customer: weight 0
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr",
            by=(Dimension.UNIT,),
            weights={"gold": 0.5, "basic": 0.5},
            weight_attribute="tier",
        ),
    )
    # Half the weight to each tier: 40 gold answers weigh 0.5·50/40, 10 basic 0.5·50/10.
    weights = [0.5 * 50 / 40] * 40 + [0.5 * 50 / 10] * 10 + [0.0] * 7
    expected = weighted_nps(gold_values + basic_values + [10] * 7, weights, min_base=30)
    for score in (table.overall.score, table.rows[0].score):
        assert score.value == pytest.approx(expected.value)
        assert score.low == pytest.approx(expected.low)
        assert score.high == pytest.approx(expected.high)
        assert score.effective_n == pytest.approx(expected.effective_n)
        assert (score.n, score.too_few) == (50, expected.too_few)
    assert expected.effective_n == pytest.approx(1 / (0.25 / 40 + 0.25 / 10))


def test_weights_that_sum_to_zero_are_refused(world):
    with pytest.raises(ValidationFailed) as error:
        MetricQuery(question="ltr", weights={"gold": 0.0}, weight_attribute="tier")
    assert error.value.errors[0].field == "weights"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"by": (Dimension.UNIT, Dimension.CHANNEL, Dimension.HOUR)}, "by"),
        ({"by": (Dimension.UNIT, Dimension.UNIT)}, "by"),
        ({"flag_below_average": True}, "flag_below_average"),
        ({"rollup": True, "by": (Dimension.CHANNEL,)}, "rollup"),
        ({"weights": {"gold": 1.0}}, "weight_attribute"),
    ],
)
def test_malformed_queries_name_the_field(changes, field):
    with pytest.raises(ValidationFailed) as error:
        MetricQuery(question="ltr", **changes)
    assert error.value.errors[0].field == field


def test_unknown_question_or_inapplicable_metric_names_the_field(world, survey):
    scope = world.scope(world.analyst)
    for query, field in (
        (MetricQuery(question="nope"), "question"),
        (MetricQuery(question="solved", metric=Metric.NPS), "metric"),
        (MetricQuery(question="ltr", compare_previous=True), "compare_previous"),
    ):
        with pytest.raises(ValidationFailed) as error:
            metric_table(scope=scope, query=query)
        assert error.value.errors[0].field == field


def test_another_organisations_survey_is_not_found(world, survey):
    theirs = make_published_survey(world.scope(world.outsider, world.other_org))
    with pytest.raises(NotFound):
        metric_table(
            scope=world.scope(world.analyst),
            query=MetricQuery(question="ltr", filters=Filters(survey_id=theirs.pk)),
        )


def test_no_answers_give_an_empty_table(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr",
            by=(Dimension.UNIT,),
            filters=Filters(start=date(2027, 1, 1), end=date(2027, 3, 31)),
            compare_previous=True,
        ),
    )
    assert table.rows == []
    assert (table.overall.score.n, table.overall.score.value, table.overall.change) == (
        0,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026-q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-W36", (date(2026, 8, 31), date(2026, 9, 6))),
    ],
)
def test_periods_read_as_their_days(text, expected):
    assert period_range(text) == expected


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "26", "2026-W54", "last quarter", ""])
def test_a_bad_period_names_the_field(text):
    with pytest.raises(ValidationFailed) as error:
        period_range(text)
    assert error.value.errors[0].field == "period"


def test_previous_ranges_follow_the_calendar_for_whole_months():
    assert previous_range(date(2026, 7, 1), date(2026, 9, 30)) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    assert previous_range(date(2026, 3, 1), date(2026, 3, 31)) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    assert previous_range(date(2026, 1, 1), date(2026, 12, 31)) == (
        date(2025, 1, 1),
        date(2025, 12, 31),
    )
    assert previous_range(date(2026, 9, 10), date(2026, 9, 16)) == (
        date(2026, 9, 3),
        date(2026, 9, 9),
    )
    assert period_label(date(2026, 8, 31), Period.WEEK) == "2026-W36"


def test_our_nps_beside_each_competitors_from_relationship_surveys(world):
    scope = world.scope(world.analyst)
    program = make_program(scope, name="Yearly", kind="relationship")
    questions = [
        {"key": "ltr", "kind": "nps", "text": {"en": "Us?", "ro": "Noi?", "pl": "My?"}},
        {
            "key": "ltr_rival",
            "kind": "nps",
            "competitor": "Rival Bank",
            "text": {"en": "Rival?", "ro": "Rival?", "pl": "Rival?"},
        },
    ]
    yearly = make_published_survey(scope, program=program, name="Yearly", questions=questions)
    store(yearly, "ltr", [10] * 20 + [0] * 10, at=Q3_DAY, unit=world.north)
    store(yearly, "ltr_rival", [9] * 10 + [6] * 25, at=Q3_DAY, unit=world.north)
    transactional = measured_survey(scope)
    store(transactional, "ltr", [7] * 12, at=Q3_DAY, unit=world.north)

    rows = competitor_scores(scope=scope, filters=Filters())
    assert [(row.key, row.labels) for row in rows] == [
        (("",), ("Banca Demo",)),
        (("Rival Bank",), ("Rival Bank",)),
    ]
    assert rows[0].score == nps_score(20, 0, 10, min_base=30)
    assert rows[1].score == nps_score(10, 0, 25, min_base=30)

    programs = relationship_vs_transactional(scope=scope, filters=Filters())
    assert [row.key for row in programs] == [("relationship",), ("transactional",)]
    assert programs[0].score == nps_score(20, 0, 10, min_base=30)
    assert programs[1].score == nps_score(0, 12, 0, min_base=30)

    # The overview shows both from one count of each NPS question's answers per program.
    with CaptureQueriesContext(connection) as captured:
        both = side_by_side(scope=scope, filters=Filters())
    assert (both.programs, both.competitors) == (programs, rows)
    counts = [q["sql"] for q in captured.captured_queries if "SUM(" in q["sql"]]
    assert len(counts) == 2  # "ltr" and "ltr_rival", each once


def test_without_competitor_questions_there_are_no_competitor_scores(world, survey):
    assert competitor_scores(scope=world.scope(world.analyst), filters=Filters()) == []
