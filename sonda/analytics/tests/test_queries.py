"""Measures and slices over stored answers, checked against values computed here with numpy.

The organisation is in Bucharest (UTC+2, +3 in summer) and the answers span both daylight-saving
changes, so weekdays, hours and periods are checked on the organisation's wall clock.
"""

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats as scipy_stats

from sonda.analytics.queries import (
    PERIOD,
    Dimension,
    Filters,
    MeasureSpec,
    Metric,
    Period,
    empty_tally,
    measure_for,
    overall,
    period_of,
    slices,
    unit_rollup,
)
from sonda.analytics.scope import scoped_answers
from sonda.analytics.stats import Measure, nps_score, top_box_share
from sonda.analytics.tests.analytics_data import Record, generate, measured_survey
from sonda.core.calendar import offset_changes
from sonda.core.errors import NotFound, ValidationFailed
from sonda.org.models import Unit

ZONE = ZoneInfo("Europe/Bucharest")


@pytest.fixture
def records(world):
    world.org.time_zone = ZONE.key
    world.org.save()
    survey = measured_survey(world.scope(world.analyst))
    return generate(
        survey,
        responses=400,
        units=[world.north, world.north_branch, world.south_branch],
        employees=[None, world.frontline_person],
    )


@pytest.fixture
def answers(world, records):
    return scoped_answers(scope=world.scope(world.analyst))


def values(records: list[Record], key: str) -> np.ndarray:
    return np.array([r.value for r in records if r.question_key == key])


def of(records: list[Record], key: str) -> list[Record]:
    return [r for r in records if r.question_key == key]


def numpy_nps(scores: np.ndarray, promoter_min: float = 9, detractor_max: float = 6):
    promoters = int(np.sum(scores >= promoter_min))
    detractors = int(np.sum(scores <= detractor_max))
    return promoters, len(scores) - promoters - detractors, detractors


def test_nps_counts_promoters_and_detractors_by_the_programs_thresholds(answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    assert (measure.metric, measure.promoter_min, measure.detractor_max) == (Metric.NPS, 9, 6)
    found = overall(answers, measure)
    scores = values(records, "ltr")
    p, passives, d = numpy_nps(scores)
    assert found.n == len(scores) == 400
    assert found.score.value == pytest.approx(100 * (p - d) / len(scores))
    assert found.score == nps_score(p, passives, d, min_base=30)


def test_a_program_with_other_thresholds_classes_answers_by_them(world, answers, records):
    program = measured_program(world)
    program.promoter_min, program.detractor_max = 8, 5
    program.save()
    measure = measure_for(answers=answers, question_key="ltr")
    p, _, d = numpy_nps(values(records, "ltr"), promoter_min=8, detractor_max=5)
    found = overall(answers, measure)
    assert (found.tally.promoters, found.tally.detractors) == (p, d)  # type: ignore[union-attr]


def measured_program(world):
    from sonda.surveys.models import Program

    return Program.objects.get(organisation=world.org, name="Measured program")


@pytest.mark.parametrize(("key", "top_min"), [("csat", 4), ("ces", 6), ("speed", 4)])
def test_top_box_shares_count_the_two_highest_points_of_the_scale(answers, records, key, top_min):
    measure = measure_for(answers=answers, question_key=key)
    assert (measure.metric, measure.top_min) == (Metric.TOP_BOX, top_min)
    scores = values(records, key)
    found = overall(answers, measure)
    assert found.score == top_box_share(int(np.sum(scores >= top_min)), len(scores))
    assert found.score.value == pytest.approx(np.mean(scores >= top_min))


@pytest.mark.parametrize("key", ["ltr", "csat", "ces", "speed"])
def test_means_have_their_t_interval(answers, records, key):
    measure = measure_for(answers=answers, question_key=key, metric=Metric.MEAN)
    scores = values(records, key)
    found = overall(answers, measure).score
    low, high = scipy_stats.t.interval(
        0.95, len(scores) - 1, loc=np.mean(scores), scale=scipy_stats.sem(scores)
    )
    assert found.measure == Measure.MEAN
    assert found.value == pytest.approx(np.mean(scores))
    assert found.low == pytest.approx(low)
    assert found.high == pytest.approx(high)


def test_yes_no_is_the_share_of_yes(answers, records):
    measure = measure_for(answers=answers, question_key="solved")
    scores = values(records, "solved")
    found = overall(answers, measure)
    assert measure.metric == Metric.YES_SHARE
    assert found.score.value == pytest.approx(np.mean(scores == 1))


def test_a_metric_that_does_not_fit_the_question_is_refused(answers, records):
    with pytest.raises(ValidationFailed):
        measure_for(answers=answers, question_key="solved", metric=Metric.NPS)
    with pytest.raises(NotFound):
        measure_for(answers=answers, question_key="nobody-asked")


def test_slices_by_channel_and_unit_match_their_answers(answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    found = slices(answers, measure, by=[Dimension.UNIT, Dimension.CHANNEL])
    groups: dict[tuple[int | None, str], list[float]] = defaultdict(list)
    for r in of(records, "ltr"):
        groups[(r.unit_id, r.channel)].append(r.value)
    assert [(s.key["unit_id"], s.key["channel"]) for s in found] == sorted(groups)
    for s in found:
        scores = np.array(groups[(s.key["unit_id"], s.key["channel"])])
        assert s.score == nps_score(*numpy_nps(scores), min_base=30)


def test_weekday_and_hour_are_on_the_organisations_clock(answers, records):
    measure = measure_for(answers=answers, question_key="csat", metric=Metric.MEAN)
    found = slices(answers, measure, by=[Dimension.WEEKDAY, Dimension.HOUR])
    expected: dict[tuple[int, int], list[float]] = defaultdict(list)
    for r in of(records, "csat"):
        local = r.local(ZONE)
        expected[(local.weekday(), local.hour)].append(r.value)
    got = {(s.key["weekday"], s.key["hour"]): s for s in found}
    assert set(got) == set(expected)
    for key, scores in expected.items():
        assert got[key].n == len(scores)
        assert got[key].score.value == pytest.approx(np.mean(scores))


@pytest.mark.parametrize("period", list(Period))
def test_periods_start_on_the_organisations_calendar(answers, records, period):
    measure = measure_for(answers=answers, question_key="ltr")
    found = slices(answers, measure, period=period)
    expected: dict[date, list[float]] = defaultdict(list)
    for r in of(records, "ltr"):
        expected[period_of(r.local(ZONE).date(), period)].append(r.value)
    assert [s.key[PERIOD] for s in found] == sorted(expected)
    for s in found:
        assert s.tally == nps_score_tally(expected[s.key[PERIOD]])


def nps_score_tally(scores: list[float]):
    from sonda.analytics.stats import NpsTally

    return NpsTally(*numpy_nps(np.array(scores)))


def test_weeks_start_on_monday_and_quarters_on_their_first_month():
    assert period_of(date(2026, 3, 29), Period.WEEK) == date(2026, 3, 23)
    assert period_of(date(2026, 8, 31), Period.QUARTER) == date(2026, 7, 1)


def test_a_date_range_is_inclusive_in_the_organisations_time_zone(answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    found = overall(answers, measure, filters=Filters(start=start, end=end))
    inside = [r for r in of(records, "ltr") if start <= r.local(ZONE).date() <= end]
    assert found.n == len(inside) > 0
    by_day = slices(answers, measure, period=Period.DAY, filters=Filters(start=start, end=end))
    assert {s.key[PERIOD] for s in by_day} <= {start + timedelta(days=i) for i in range(31)}


def test_filters_narrow_by_context(world, answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    by_channel = overall(answers, measure, filters=Filters(channel="sms"))
    assert by_channel.n == sum(r.channel == "sms" for r in of(records, "ltr"))
    north = overall(answers, measure, filters=Filters(unit_path=world.north.path))
    assert north.n == sum(r.unit_path.startswith(world.north.path) for r in of(records, "ltr"))
    own = overall(answers, measure, filters=Filters(employee_id=world.frontline_person.pk))
    assert own.n == sum(r.employee_id == world.frontline_person.pk for r in of(records, "ltr"))


def test_units_roll_up_through_the_hierarchy(world, answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    found = slices(answers, measure, by=[Dimension.UNIT_PATH])
    paths = dict(Unit.objects.filter(organisation=world.org).values_list("pk", "path"))
    rolled = unit_rollup(found, paths)
    for unit_id, path in paths.items():
        scores = [r.value for r in of(records, "ltr") if r.unit_path.startswith(path)]
        if not scores:
            assert unit_id not in rolled
            continue
        assert rolled[unit_id].tally == nps_score_tally(scores)
    assert rolled[world.hq.pk].n == 400
    assert rolled[world.north.pk].n == rolled[world.north.pk].tally.n


def test_no_answers_give_no_figure(world, records):
    answers = scoped_answers(scope=world.scope(world.outsider, world.other_org))
    measure = MeasureSpec(question_key="ltr", kind="nps", metric=Metric.NPS)
    found = overall(answers, measure)
    assert (found.n, found.score.value, found.score.too_few) == (0, None, True)
    assert slices(answers, measure, by=[Dimension.CHANNEL], period=Period.MONTH) == []


def test_a_small_base_is_flagged_too_few(world, answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    day = date(2026, 1, 5)
    one_day = overall(answers, measure, filters=Filters(start=day, end=day))
    assert one_day.n < 30
    assert one_day.score.too_few
    assert one_day.score.shown_value is None


def test_daylight_saving_changes_are_found_to_the_second():
    changes = offset_changes(ZONE, 1_767_225_600, 1_798_761_600)  # the year 2026 in UTC
    assert changes == [
        (1_767_225_600, 7_200),
        (1_774_746_000, 10_800),  # 2026-03-29 01:00 UTC
        (1_792_890_000, 7_200),  # 2026-10-25 01:00 UTC
    ]


def test_dimensions_cannot_repeat(answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    with pytest.raises(ValidationFailed):
        slices(answers, measure, by=[Dimension.CHANNEL, Dimension.CHANNEL])


@pytest.mark.parametrize(
    ("kind", "metric", "top_min"),
    [
        ("nps", Metric.NPS, None),
        ("csat", Metric.TOP_BOX, 4),
        ("csat", Metric.MEAN, None),
        ("yes_no", Metric.YES_SHARE, 1),
    ],
)
def test_a_measure_without_answers_has_an_empty_tally_of_its_kind(kind, metric, top_min):
    measure = MeasureSpec(question_key="q", kind=kind, metric=metric, top_min=top_min)
    tally = empty_tally(measure)
    score = tally.score(min_base=30)
    assert (score.n, score.too_few) == (0, True)


def test_a_segment_of_no_customers_has_no_answers_and_none_means_any(answers, records):
    measure = measure_for(answers=answers, question_key="ltr")
    assert overall(answers, measure, filters=Filters(customer_ids=frozenset())).n == 0
    assert overall(answers, measure, filters=Filters(customer_ids=None)).n == len(
        of(records, "ltr")
    )
