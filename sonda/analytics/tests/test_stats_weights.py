"""Weighted scores: the weights move the figure, and the intervals pay for it through Kish's
effective base n_eff = (Σw)² / Σw²; weights that cannot weigh anything are refused."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from sonda.analytics.stats import Score, mean_score, nps_from_scores, share_from_scores
from sonda.analytics.stats_weights import (
    effective_base,
    weighted_mean,
    weighted_nps,
    weighted_share,
)
from sonda.core.errors import ValidationFailed

Z = float(scipy_stats.norm.ppf(0.975))

# Two segments: "large" customers are 20% of the base but gave 60 of the 100 answers, so each of
# their answers weighs 0.2/60 and each "small" answer 0.8/40.
LARGE = [10] * 30 + [8] * 20 + [3] * 10
SMALL = [9] * 10 + [7] * 10 + [2] * 20
SCORES = LARGE + SMALL
WEIGHTS = [0.2 / 60] * 60 + [0.8 / 40] * 40


def kish(weights) -> float:
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def nps_values(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    return np.where(s >= 9, 1.0, np.where(s <= 6, -1.0, 0.0))


def figures(score: Score) -> tuple[float, float, float]:
    assert score.low is not None
    assert score.value is not None
    assert score.high is not None
    return score.low, score.value, score.high


def test_effective_base_is_kish():
    assert effective_base(WEIGHTS) == pytest.approx(kish(WEIGHTS))
    assert effective_base([1.0] * 40) == pytest.approx(40)
    assert effective_base([]) == 0


def test_weighted_nps_counts_each_segment_by_its_weight():
    score = weighted_nps(SCORES, WEIGHTS)

    values = nps_values(SCORES)
    weights = np.asarray(WEIGHTS)
    assert score.value == pytest.approx(100 * np.average(values, weights=weights))
    # Large: 30 promoters, 10 detractors of 60; small: 10 and 20 of 40.
    assert score.value == pytest.approx(100 * (0.2 * (30 - 10) / 60 + 0.8 * (10 - 20) / 40))
    assert score.n == 100
    assert score.effective_n == pytest.approx(kish(WEIGHTS))
    assert score.shares is not None
    assert score.shares["promoters"] == pytest.approx(0.2 * 30 / 60 + 0.8 * 10 / 40)


def test_weighted_nps_interval_is_adjusted_wald_on_the_effective_base():
    score = weighted_nps(SCORES, WEIGHTS)

    n_eff = kish(WEIGHTS)
    values = nps_values(SCORES)
    p = np.average(values == 1, weights=WEIGHTS)
    d = np.average(values == -1, weights=WEIGHTS)
    p_adj, d_adj = (p * n_eff + 0.75) / (n_eff + 3), (d * n_eff + 0.75) / (n_eff + 3)
    centre = p_adj - d_adj
    half = Z * math.sqrt((p_adj + d_adj - centre**2) / (n_eff + 3))
    assert score.low == pytest.approx(100 * (centre - half))
    assert score.high == pytest.approx(100 * (centre + half))
    assert score.standard_error == pytest.approx(
        100 * math.sqrt(np.average((values - (p - d)) ** 2, weights=WEIGHTS) / n_eff)
    )


def test_weighting_widens_the_interval():
    weighted = figures(weighted_nps(SCORES, WEIGHTS))
    plain = figures(nps_from_scores(SCORES))

    assert weighted[2] - weighted[0] > plain[2] - plain[0]


def test_a_base_that_is_large_in_answers_but_small_in_effect_is_too_few():
    # 40 answers, but one carries almost all the weight.
    weights = [100.0] + [1.0] * 39

    score = weighted_nps([10] * 20 + [0] * 20, weights)

    assert score.n == 40
    assert score.effective_n is not None
    assert score.effective_n < 30
    assert score.too_few is True
    assert score.shown_value is None


def test_equal_weights_give_the_unweighted_score_and_base():
    scores = [10, 9, 3, 7, 8, 10, 0, 6, 9, 9] * 4

    weighted = weighted_nps(scores, [2.5] * len(scores))
    plain = nps_from_scores(scores)

    assert weighted.effective_n == pytest.approx(40)
    assert weighted.too_few is False
    assert weighted.value == pytest.approx(plain.value)
    assert weighted.low == pytest.approx(plain.low)
    assert weighted.high == pytest.approx(plain.high)


def test_weighted_share_has_wilson_on_the_effective_base():
    easy = [s >= 8 for s in SCORES]

    score = weighted_share(easy, WEIGHTS)

    n_eff = kish(WEIGHTS)
    share = np.average(easy, weights=WEIGHTS)
    low, high = proportion_confint(share * n_eff, n_eff, alpha=0.05, method="wilson")
    assert score.value == pytest.approx(share)
    assert score.low == pytest.approx(low)
    assert score.high == pytest.approx(high)
    assert score.effective_n == pytest.approx(n_eff)


def test_weighted_share_with_equal_weights_is_the_plain_share():
    scores = [5, 4, 3, 4, 5, 1, 2, 5] * 5

    weighted = weighted_share([s >= 4 for s in scores], [0.1] * len(scores))
    plain = share_from_scores(scores, top_min=4)

    assert weighted.value == pytest.approx(plain.value)
    assert weighted.low == pytest.approx(plain.low)
    assert weighted.high == pytest.approx(plain.high)


def test_weighted_mean_has_a_t_interval_on_the_effective_base():
    values = np.array([4, 5, 3, 4, 2, 5, 5, 4, 1, 3, 4, 4, 2, 5, 3], dtype=float)
    weights = np.array([1, 1, 2, 2, 3, 1, 1, 1, 4, 2, 1, 1, 2, 1, 3], dtype=float)

    score = weighted_mean(list(values), list(weights), min_base=0)

    n_eff = kish(weights)
    mean = np.average(values, weights=weights)
    variance = np.average((values - mean) ** 2, weights=weights) * n_eff / (n_eff - 1)
    se = math.sqrt(variance / n_eff)
    t = scipy_stats.t.ppf(0.975, n_eff - 1)
    assert score.value == pytest.approx(mean)
    assert score.standard_error == pytest.approx(se)
    assert score.low == pytest.approx(mean - t * se)
    assert score.high == pytest.approx(mean + t * se)


def test_weighted_mean_with_equal_weights_is_the_plain_mean_and_interval():
    values = [4, 5, 3, 4, 2, 5, 5, 4, 1, 3, 4, 4]

    weighted = weighted_mean(values, [3.0] * len(values))
    plain = mean_score(values)

    assert weighted.value == pytest.approx(plain.value)
    assert weighted.low == pytest.approx(plain.low)
    assert weighted.high == pytest.approx(plain.high)


def test_an_answer_weighted_zero_does_not_count():
    score = weighted_mean([1.0, 5.0, 100.0], [1.0, 1.0, 0.0], min_base=0)

    assert score.n == 2
    assert score.value == pytest.approx(3.0)
    assert score.effective_n == pytest.approx(2.0)


def test_a_single_weighted_answer_has_a_mean_but_no_interval():
    score = weighted_mean([4.0, 2.0], [1.0, 0.0], min_base=0)

    assert score.value == 4
    assert (score.low, score.high) == (None, None)


def test_no_answers_are_too_few_rather_than_an_error():
    for score in (weighted_nps([], []), weighted_share([], []), weighted_mean([], [])):
        assert score.value is None
        assert score.too_few is True


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param([0.0, 0.0, 0.0], id="summing to zero"),
        pytest.param([1.0, -1.0, 1.0], id="negative"),
        pytest.param([1.0, 1.0], id="one missing"),
        pytest.param([1.0, math.inf, 1.0], id="infinite"),
        pytest.param([1.0, math.nan, 1.0], id="not a number"),
    ],
)
def test_weights_that_cannot_weigh_are_refused_naming_weights(weights):
    for compute in (
        lambda: weighted_nps([10, 5, 8], weights),
        lambda: weighted_share([True, False, True], weights),
        lambda: weighted_mean([1.0, 2.0, 3.0], weights),
    ):
        with pytest.raises(ValidationFailed) as raised:
            compute()
        assert raised.value.errors[0].field == "weights"


@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.floats(0.01, 100)),
        min_size=2,
        max_size=200,
    )
)
def test_weighted_nps_interval_stays_within_bounds(pairs):
    scores = [s for s, _ in pairs]
    weights = [w for _, w in pairs]

    score = weighted_nps(scores, weights)

    low, value, high = figures(score)
    assert -100 <= low <= high <= 100
    assert -100 <= value <= 100
    assert score.effective_n is not None
    assert 1 - 1e-9 <= score.effective_n <= len(pairs) + 1e-9


@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(0.01, 100)),
        min_size=1,
        max_size=200,
    )
)
def test_weighted_share_interval_contains_the_share(pairs):
    score = weighted_share([ok for ok, _ in pairs], [w for _, w in pairs])

    low, value, high = figures(score)
    assert 0 <= low <= value <= high <= 1
