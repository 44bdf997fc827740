"""Scores say how sure they are: NPS with the adjusted Wald interval, shares with Wilson's, means
with Student's t, and "too few answers" below the minimum base.

Every expected figure is computed here independently, with numpy, scipy or statsmodels, from the
answers themselves.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from sonda.analytics.stats import (
    MeanTally,
    Measure,
    NpsTally,
    Score,
    ShareTally,
    mean_score,
    nps_from_scores,
    nps_score,
    required_sample,
    share_from_scores,
    top_box_share,
)
from sonda.core.errors import ValidationFailed

Z = float(scipy_stats.norm.ppf(0.975))


def figures(score: Score) -> tuple[float, float, float]:
    """(low, value, high) of a score that has all three."""
    assert score.low is not None
    assert score.value is not None
    assert score.high is not None
    return score.low, score.value, score.high


def class_shares(score: Score) -> dict[str, float]:
    assert score.shares is not None
    return score.shares


def answers(promoters: int, passives: int, detractors: int) -> np.ndarray:
    """Each answer as its +1/0/−1 NPS value."""
    return np.array([1.0] * promoters + [0.0] * passives + [-1.0] * detractors)


def adjusted_wald(promoters: float, passives: float, detractors: float) -> tuple[float, float]:
    """The adjusted Wald interval built literally: the answers plus three pseudo-answers
    (¾ promoter, 1½ passive, ¾ detractor), then the plain Wald interval of their mean."""
    values = np.array([1.0, 0.0, -1.0, 1.0, 0.0, -1.0])
    weights = np.array([promoters, passives, detractors, 0.75, 1.5, 0.75])
    centre = np.average(values, weights=weights)
    variance = np.average((values - centre) ** 2, weights=weights)
    half = Z * math.sqrt(variance / weights.sum())
    return max(-100.0, 100 * (centre - half)), min(100.0, 100 * (centre + half))


# --- NPS ---------------------------------------------------------------------------------------


def test_nps_is_promoters_minus_detractors_in_points_with_class_shares():
    score = nps_score(50, 30, 20)

    assert score.measure == Measure.NPS
    assert score.n == 100
    assert score.value == pytest.approx(100 * np.mean(answers(50, 30, 20)))
    assert score.value == pytest.approx(30.0)
    assert score.shares == {"promoters": 0.5, "passives": 0.3, "detractors": 0.2}
    assert score.too_few is False
    assert score.effective_n is None


def test_nps_interval_is_adjusted_wald():
    score = nps_score(50, 30, 20)

    low, high = adjusted_wald(50, 30, 20)
    assert score.low == pytest.approx(low)
    assert score.high == pytest.approx(high)


def test_nps_plain_standard_error_is_that_of_the_answers_values():
    score = nps_score(41, 17, 23)

    values = answers(41, 17, 23)
    assert score.standard_error == pytest.approx(100 * np.std(values) / math.sqrt(len(values)))


def test_the_adjustment_matters_most_for_small_samples():
    small = nps_score(4, 0, 1, min_base=0)
    large = nps_score(400, 0, 100)

    # Both are NPS 60; the small one's interval is pulled towards 0, not just wider.
    assert small.value == large.value == pytest.approx(60.0)
    small_low, _, small_high = figures(small)
    large_low, _, large_high = figures(large)
    assert (small_low + small_high) / 2 < 40
    assert (large_low + large_high) / 2 == pytest.approx(60, abs=1)


def test_nps_with_no_answers_has_no_value_and_is_too_few():
    score = nps_score(0, 0, 0)

    assert score.n == 0
    assert score.value is None
    assert score.low is None
    assert score.high is None
    assert score.shares is None
    assert score.standard_error is None
    assert score.too_few is True
    assert score.shown_value is None


def test_all_promoters_score_100_with_an_interval_below_it_and_no_spread():
    score = nps_score(50, 0, 0)

    assert score.value == 100
    assert score.standard_error == 0
    assert score.high == 100
    assert score.low == pytest.approx(adjusted_wald(50, 0, 0)[0])
    assert figures(score)[0] < 100


def test_all_detractors_score_minus_100_with_an_interval_above_it():
    score = nps_score(0, 0, 50)

    assert score.value == -100
    assert score.low == -100
    assert score.high == pytest.approx(adjusted_wald(0, 0, 50)[1])
    assert figures(score)[2] > -100


def test_a_single_answer_is_too_few_but_keeps_its_value_and_interval():
    score = nps_score(1, 0, 0)

    assert score.too_few is True
    assert score.shown_value is None
    assert score.value == 100
    low, high = adjusted_wald(1, 0, 0)
    assert score.low == pytest.approx(low)
    assert score.high == pytest.approx(high)


def test_below_the_minimum_base_the_figure_is_too_few_to_show():
    assert nps_score(10, 10, 9).too_few is True
    assert nps_score(10, 10, 10).too_few is False
    assert nps_score(10, 10, 10).shown_value == 0
    assert nps_score(10, 10, 9, min_base=20).too_few is False


@pytest.mark.parametrize("field", ["promoters", "passives", "detractors"])
def test_negative_counts_are_refused_naming_the_field(field):
    counts = {"promoters": 1, "passives": 1, "detractors": 1, field: -1}

    with pytest.raises(ValidationFailed) as raised:
        nps_score(counts["promoters"], counts["passives"], counts["detractors"])

    assert raised.value.errors[0].field == field


@given(
    promoters=st.integers(0, 5000),
    passives=st.integers(0, 5000),
    detractors=st.integers(0, 5000),
)
def test_nps_interval_stays_within_bounds_and_contains_the_value_from_two_answers(
    promoters, passives, detractors
):
    score = nps_score(promoters, passives, detractors)

    if score.n == 0:
        assert score.value is None
        return
    low, value, high = figures(score)
    assert -100 <= low <= high <= 100
    assert -100 <= value <= 100
    if score.n >= 2:
        assert low <= value <= high
    assert sum(class_shares(score).values()) == pytest.approx(1)


def test_nps_from_scores_classes_by_the_default_thresholds():
    scores = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5]

    score = nps_from_scores(scores, min_base=0)

    assert score.shares == {"promoters": 0.4, "passives": 0.2, "detractors": 0.4}
    assert score.value == pytest.approx(0.0)


def test_nps_from_scores_follows_the_programs_thresholds():
    scores = [10, 9, 8, 7, 6, 5]

    strict = nps_from_scores(scores, promoter_min=10, detractor_max=7, min_base=0)
    lenient = nps_from_scores(scores, promoter_min=8, detractor_max=5, min_base=0)

    assert class_shares(strict)["promoters"] == pytest.approx(1 / 6)
    assert class_shares(strict)["detractors"] == pytest.approx(3 / 6)
    assert class_shares(lenient)["promoters"] == pytest.approx(3 / 6)
    assert class_shares(lenient)["detractors"] == pytest.approx(1 / 6)
    assert strict.low == pytest.approx(adjusted_wald(1, 2, 3)[0])


def test_thresholds_that_overlap_are_refused():
    with pytest.raises(ValidationFailed) as raised:
        nps_from_scores([9, 10], promoter_min=6, detractor_max=6)

    assert raised.value.errors[0].field == "promoter_min"


def test_nps_from_no_scores_is_too_few():
    assert nps_from_scores([]).value is None


# --- Shares ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("successes", "n"), [(30, 40), (1, 50), (0, 50), (50, 50), (1, 1)])
def test_top_box_share_has_the_wilson_interval(successes, n):
    score = top_box_share(successes, n, min_base=0)

    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert score.measure == Measure.SHARE
    assert score.value == pytest.approx(successes / n)
    assert score.low == pytest.approx(low, abs=1e-12)
    assert score.high == pytest.approx(high, abs=1e-12)


def test_share_of_no_answers_is_too_few_without_a_value():
    score = top_box_share(0, 0)

    assert (score.value, score.low, score.high, score.too_few) == (None, None, None, True)


def test_an_all_yes_share_has_its_interval_end_at_one():
    score = top_box_share(40, 40)

    assert score.value == 1
    assert score.high == 1
    assert figures(score)[0] < 1


def test_more_successes_than_answers_are_refused():
    with pytest.raises(ValidationFailed) as raised:
        top_box_share(5, 4)

    assert raised.value.errors[0].field == "successes"


def test_csat_top_two_box_counts_four_and_five():
    score = share_from_scores([5, 4, 3, 2, 1, 4, 5, 5], top_min=4, min_base=0)

    assert score.value == pytest.approx(5 / 8)
    assert score.n == 8


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_stays_in_zero_to_one_around_the_share(case):
    successes, n = case

    score = top_box_share(successes, n)

    low, value, high = figures(score)
    assert 0 <= low <= value <= high <= 1


# --- Means -------------------------------------------------------------------------------------


def test_mean_has_the_student_t_interval():
    values = [4, 5, 3, 4, 2, 5, 5, 4, 1, 3, 4, 4]

    score = mean_score(values, min_base=0)

    low, high = scipy_stats.t.interval(
        0.95, df=len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    assert score.measure == Measure.MEAN
    assert score.value == pytest.approx(np.mean(values))
    assert score.low == pytest.approx(low)
    assert score.high == pytest.approx(high)
    assert score.standard_error == pytest.approx(scipy_stats.sem(values))


def test_a_single_answer_has_a_mean_but_no_interval():
    score = mean_score([4.0], min_base=0)

    assert score.value == 4
    assert (score.low, score.high, score.standard_error) == (None, None, None)


def test_no_answers_have_no_mean_and_are_too_few():
    score = mean_score([])

    assert (score.value, score.low, score.high, score.too_few) == (None, None, None, True)


def test_identical_answers_have_a_zero_width_interval():
    score = mean_score([3.0] * 40)

    assert (score.low, score.value, score.high) == (3.0, 3.0, 3.0)


def test_answers_that_are_not_numbers_are_refused():
    with pytest.raises(ValidationFailed) as raised:
        mean_score([1.0, math.nan])

    assert raised.value.errors[0].field == "values"


@given(st.lists(st.integers(1, 7), min_size=2, max_size=300))
def test_mean_interval_contains_the_mean(values):
    score = mean_score(values)

    low, value, high = figures(score)
    assert low <= value <= high
    assert score.too_few is (len(values) < 30)


# --- Tallies: what the queries aggregate -------------------------------------------------------


def test_a_mean_tally_of_sums_gives_the_same_score_as_the_answers():
    values = [4, 5, 3, 4, 2, 5, 5, 4, 1, 3, 4, 4, 7, 1]

    from_values = mean_score(values)
    from_sums = MeanTally(len(values), sum(values), sum(v * v for v in values)).score()

    assert from_sums.value == pytest.approx(from_values.value)
    assert from_sums.low == pytest.approx(from_values.low)
    assert from_sums.high == pytest.approx(from_values.high)


def test_tallies_add_up_and_subtract_to_the_rest():
    assert NpsTally(5, 3, 2) + NpsTally(1, 1, 1) == NpsTally(6, 4, 3)
    assert NpsTally(6, 4, 3) - NpsTally(1, 1, 1) == NpsTally(5, 3, 2)
    assert ShareTally(3, 10) + ShareTally(1, 5) == ShareTally(4, 15)
    assert MeanTally.of([1, 2]) + MeanTally.of([3]) == MeanTally.of([1, 2, 3])
    assert NpsTally(5, 3, 2).score() == nps_score(5, 3, 2)
    assert ShareTally(3, 10).score() == top_box_share(3, 10)


# --- Required sample ---------------------------------------------------------------------------


def test_five_points_of_nps_need_1537_answers_in_the_worst_case():
    plan = required_sample(5)

    assert plan.answers == 1537
    assert plan.answers == math.ceil(Z**2 * 1.0 * 100**2 / 5**2)
    assert plan.invitations is None


def test_history_variance_needs_fewer_answers():
    variance = 0.5 + 0.2 - (0.5 - 0.2) ** 2

    plan = required_sample(3, variance=variance)

    assert plan.answers == math.ceil(Z**2 * variance * 100**2 / 3**2)


def test_invitations_divide_the_answers_by_the_response_rate():
    plan = required_sample(5, response_rate=0.25)

    assert plan.invitations == 1537 * 4


def test_a_small_population_needs_fewer_answers():
    plan = required_sample(5, population=1000, response_rate=0.5)

    needed = Z**2 * 100**2 / 5**2
    assert plan.answers_infinite_population == 1537
    assert plan.answers == math.ceil(needed * 1000 / (needed + 1000 - 1))
    assert plan.answers == 607
    assert plan.invitations == 1214


def test_a_population_of_one_needs_one_answer():
    assert required_sample(1, population=1).answers == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"margin": 0}, "margin"),
        ({"margin": -2}, "margin"),
        ({"margin": 5, "variance": 0}, "variance"),
        ({"margin": 5, "response_rate": 0}, "response_rate"),
        ({"margin": 5, "response_rate": 1.5}, "response_rate"),
        ({"margin": 5, "population": 0}, "population"),
    ],
)
def test_impossible_plans_are_refused_naming_the_field(arguments, field):
    with pytest.raises(ValidationFailed) as raised:
        required_sample(**arguments)

    assert raised.value.errors[0].field == field
