"""A difference is called real only when the test says so: z-tests for NPS and shares, Welch's
t for means, and Benjamini–Hochberg across many slices so that chance does not flag a unit.

Expected figures come from numpy on the answers themselves, scipy and statsmodels.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from sonda.analytics.significance import (
    Flag,
    benjamini_hochberg,
    difference,
    effect_size,
    mean_difference,
    nps_difference,
    share_difference,
    slice_vs_rest,
)
from sonda.analytics.stats import (
    MeanTally,
    NpsTally,
    ShareTally,
    mean_score,
    nps_score,
    top_box_share,
)
from sonda.analytics.stats_weights import weighted_nps
from sonda.core.errors import ValidationFailed

Z = float(scipy_stats.norm.ppf(0.975))


def answers(tally: NpsTally) -> np.ndarray:
    """Each answer as its +1/0/−1 NPS value."""
    return np.array([1.0] * tally.promoters + [0.0] * tally.passives + [-1.0] * tally.detractors)


def z_test_of_means(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(difference, SE, two-sided p) of two independent means with population-variance SEs:
    the NPS test of the domain, on the answers' values."""
    diff = a.mean() - b.mean()
    se = math.sqrt(a.var() / len(a) + b.var() / len(b))
    return diff, se, float(2 * scipy_stats.norm.sf(abs(diff / se)))


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    pooled = math.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    return float((a.mean() - b.mean()) / pooled)


# --- Two NPS -----------------------------------------------------------------------------------


def test_nps_difference_is_a_z_test_on_the_plain_standard_errors():
    north, south = NpsTally(50, 30, 20), NpsTally(30, 30, 40)

    result = nps_difference(north.score(), south.score())

    diff, se, p = z_test_of_means(answers(north), answers(south))
    assert result.difference == pytest.approx(100 * diff)
    assert result.standard_error == pytest.approx(100 * se)
    assert result.statistic == pytest.approx(diff / se)
    assert result.p_value == pytest.approx(p)
    assert result.low == pytest.approx(100 * (diff - Z * se))
    assert result.high == pytest.approx(100 * (diff + Z * se))
    assert result.tested


def test_a_small_nps_difference_is_not_significant():
    result = nps_difference(nps_score(42, 30, 28), nps_score(40, 30, 30))

    assert result.p_value is not None
    assert result.p_value > 0.5


def test_nps_difference_of_weighted_scores_rests_on_their_effective_bases():
    scores = [10, 9, 7, 3, 10, 6, 9, 8, 2, 10] * 5
    weights = [1.0, 3.0] * 25
    values = np.where(np.array(scores) >= 9, 1.0, np.where(np.array(scores) <= 6, -1.0, 0.0))
    n_eff = sum(weights) ** 2 / sum(w * w for w in weights)
    plain = NpsTally(20, 10, 20)

    result = nps_difference(weighted_nps(scores, weights), plain.score())

    mean = np.average(values, weights=weights)
    weighted_se = math.sqrt(np.average((values - mean) ** 2, weights=weights) / n_eff)
    plain_se = answers(plain).std() / math.sqrt(plain.n)
    assert result.difference == pytest.approx(100 * (mean - answers(plain).mean()))
    assert result.standard_error == pytest.approx(100 * math.hypot(weighted_se, plain_se))


def test_no_answers_on_one_side_leave_the_difference_untested():
    result = nps_difference(nps_score(10, 10, 10), nps_score(0, 0, 0))

    assert result.tested is False
    assert (result.difference, result.p_value, result.low) == (None, None, None)


def test_two_unanimous_sides_have_no_spread_to_test():
    same = nps_difference(nps_score(40, 0, 0), nps_score(35, 0, 0))
    opposite = nps_difference(nps_score(40, 0, 0), nps_score(0, 0, 35))

    assert (same.difference, same.statistic, same.p_value) == (0, None, 1.0)
    assert (opposite.difference, opposite.statistic, opposite.p_value) == (200, None, 0.0)


def test_scores_of_different_measures_are_not_compared():
    with pytest.raises(ValidationFailed) as raised:
        difference(nps_score(10, 10, 10), top_box_share(10, 30))

    assert raised.value.errors[0].field == "b"
    with pytest.raises(ValidationFailed):
        nps_difference(top_box_share(10, 30), nps_score(10, 10, 10))


@given(
    st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)),
    st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)),
)
def test_swapping_the_sides_flips_the_difference_and_keeps_the_p_value(a_counts, b_counts):
    a, b = nps_score(*a_counts), nps_score(*b_counts)

    forward, backward = nps_difference(a, b), nps_difference(b, a)

    if not forward.tested:
        assert not backward.tested
        return
    assert forward.difference is not None
    assert backward.difference is not None
    assert forward.difference == pytest.approx(-backward.difference)
    assert forward.p_value == pytest.approx(backward.p_value)
    assert forward.p_value is not None
    assert 0 <= forward.p_value <= 1


# --- Two shares --------------------------------------------------------------------------------


def test_share_difference_is_the_pooled_two_proportion_z_test():
    a, b = top_box_share(72, 120), top_box_share(41, 95)

    result = share_difference(a, b)

    z, p = proportions_ztest([72, 41], [120, 95])
    unpooled = math.sqrt(0.6 * 0.4 / 120 + (41 / 95) * (54 / 95) / 95)
    assert result.difference == pytest.approx(72 / 120 - 41 / 95)
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(p)
    assert result.standard_error == pytest.approx(unpooled)
    assert result.low == pytest.approx(72 / 120 - 41 / 95 - Z * unpooled)


def test_two_all_yes_shares_do_not_differ():
    result = share_difference(top_box_share(40, 40), top_box_share(50, 50))

    assert (result.difference, result.p_value) == (0, 1.0)


# --- Two means ---------------------------------------------------------------------------------


def test_mean_difference_is_welchs_t_test():
    a = [4, 5, 3, 4, 2, 5, 5, 4, 1, 3, 4, 4, 5, 5, 4]
    b = [2, 3, 3, 1, 2, 4, 3, 2, 5, 1]

    result = mean_difference(mean_score(a), mean_score(b))

    welch = scipy_stats.ttest_ind(a, b, equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert result.difference == pytest.approx(np.mean(a) - np.mean(b))
    assert result.statistic == pytest.approx(welch.statistic)
    assert result.p_value == pytest.approx(welch.pvalue)
    assert result.degrees_of_freedom == pytest.approx(welch.df)
    assert result.low == pytest.approx(interval.low)
    assert result.high == pytest.approx(interval.high)


def test_a_mean_of_one_answer_cannot_be_tested():
    result = mean_difference(mean_score([4.0]), mean_score([1.0, 2.0, 3.0]))

    assert result.tested is False


def test_difference_picks_the_test_of_the_measure():
    a, b = [4.0, 5.0, 3.0, 4.0], [1.0, 2.0, 2.0]

    assert difference(mean_score(a), mean_score(b)) == mean_difference(mean_score(a), mean_score(b))
    assert difference(top_box_share(3, 9), top_box_share(5, 9)) == share_difference(
        top_box_share(3, 9), top_box_share(5, 9)
    )


# --- Effect size -------------------------------------------------------------------------------


def test_effect_size_is_cohens_d_on_the_answers_for_nps_and_means():
    north, south = NpsTally(50, 30, 20), NpsTally(30, 30, 40)
    a, b = [4.0, 5.0, 3.0, 4.0, 2.0], [2.0, 3.0, 3.0, 1.0]

    assert effect_size(north, south) == pytest.approx(cohens_d(answers(north), answers(south)))
    assert effect_size(MeanTally.of(a), MeanTally.of(b)) == pytest.approx(
        cohens_d(np.array(a), np.array(b))
    )


def test_effect_size_of_shares_is_cohens_h():
    expected = 2 * math.asin(math.sqrt(0.6)) - 2 * math.asin(math.sqrt(0.25))

    assert effect_size(ShareTally(60, 100), ShareTally(10, 40)) == pytest.approx(expected)


def test_effect_size_is_undefined_without_spread_or_answers():
    assert effect_size(NpsTally(10, 0, 0), NpsTally(20, 0, 0)) is None
    assert effect_size(ShareTally(0, 0), ShareTally(3, 5)) is None
    assert effect_size(MeanTally.of([]), MeanTally.of([1.0, 2.0])) is None


# --- Benjamini–Hochberg ------------------------------------------------------------------------


def test_benjamini_hochberg_matches_statsmodels():
    p_values = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]

    result = benjamini_hochberg(p_values, q=0.05)

    rejected, adjusted, _, _ = multipletests(p_values, alpha=0.05, method="fdr_bh")
    assert result.rejected == list(rejected)
    assert result.adjusted == pytest.approx(list(adjusted))
    assert result.rejected == [True, True] + [False] * 8


def test_benjamini_hochberg_steps_up_past_a_p_value_above_its_own_threshold():
    # 0.03 > 2/4·0.05, but 0.0375 ≤ 3/4·0.05 rejects the three smallest.
    result = benjamini_hochberg([0.0375, 0.01, 0.03, 0.9])

    assert result.rejected == [True, True, True, False]


def test_benjamini_hochberg_of_nothing_rejects_nothing():
    assert benjamini_hochberg([]).rejected == []


@pytest.mark.parametrize(
    ("p_values", "q", "field"),
    [([0.1], 0, "q"), ([0.1], 1, "q"), ([1.2], 0.05, "p_values"), ([-0.1], 0.05, "p_values")],
)
def test_benjamini_hochberg_refuses_what_is_not_a_probability(p_values, q, field):
    with pytest.raises(ValidationFailed) as raised:
        benjamini_hochberg(p_values, q=q)

    assert raised.value.errors[0].field == field


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=60),
    st.sampled_from([0.01, 0.05, 0.1, 0.2]),
)
def test_benjamini_hochberg_agrees_with_statsmodels_on_any_p_values(p_values, q):
    result = benjamini_hochberg(p_values, q=q)

    rejected, adjusted, _, _ = multipletests(p_values, alpha=q, method="fdr_bh")
    assert result.rejected == list(rejected)
    assert result.adjusted == pytest.approx(list(adjusted))


# --- Slices against the rest -------------------------------------------------------------------

# Twelve units of one level. "u03" is planted far below, "u07" far above, "u10" a little below
# (noise), "u11" too small to judge.
UNITS = {
    "u00": NpsTally(120, 60, 70),
    "u01": NpsTally(115, 70, 65),
    "u02": NpsTally(125, 55, 70),
    "u03": NpsTally(70, 60, 120),
    "u04": NpsTally(118, 62, 70),
    "u05": NpsTally(122, 60, 68),
    "u06": NpsTally(119, 64, 67),
    "u07": NpsTally(170, 50, 30),
    "u08": NpsTally(121, 59, 70),
    "u09": NpsTally(117, 65, 68),
    "u10": NpsTally(110, 65, 75),
    "u11": NpsTally(2, 3, 10),
}


def test_slices_significantly_below_and_above_the_rest_are_flagged():
    results = slice_vs_rest(UNITS)

    flags = {r.key: r.flag for r in results}
    assert flags["u03"] == Flag.BELOW
    assert flags["u07"] == Flag.ABOVE
    assert {key for key, flag in flags.items() if flag != Flag.NONE} == {"u03", "u07"}
    assert [r.key for r in results] == list(UNITS)


def test_each_slice_is_tested_against_the_rest_of_the_answers():
    results = {r.key: r for r in slice_vs_rest(UNITS)}
    everyone = np.concatenate([answers(t) for t in UNITS.values()])

    low_unit = answers(UNITS["u03"])
    rest = np.concatenate([answers(t) for key, t in UNITS.items() if key != "u03"])
    diff, _, p = z_test_of_means(low_unit, rest)
    result = results["u03"]
    assert result.rest.n == len(everyone) - len(low_unit)
    assert result.rest.value == pytest.approx(100 * rest.mean())
    assert result.difference.difference == pytest.approx(100 * diff)
    assert result.difference.p_value == pytest.approx(p)
    assert result.effect_size == pytest.approx(cohens_d(low_unit, rest))


def test_the_flags_control_the_false_discovery_rate_over_the_tested_slices_only():
    results = slice_vs_rest(UNITS)

    tested = [r for r in results if r.tested]
    p_values = [r.difference.p_value for r in tested]
    rejected, adjusted, _, _ = multipletests(p_values, alpha=0.05, method="fdr_bh")
    assert [r.q_value for r in tested] == pytest.approx(list(adjusted))
    assert [r.flag != Flag.NONE for r in tested] == list(rejected)
    assert "u11" not in [r.key for r in tested]


def test_a_slice_too_small_to_show_is_not_flagged():
    results = {r.key: r for r in slice_vs_rest(UNITS)}

    small = results["u11"]
    assert small.score.too_few is True
    assert small.tested is False
    assert small.q_value is None
    assert small.flag == Flag.NONE
    # Its difference is still there for the drill-down, just not judged.
    assert small.difference.p_value is not None


def test_a_stricter_false_discovery_rate_flags_fewer_slices():
    lenient = slice_vs_rest(UNITS, q=0.2)
    strict = slice_vs_rest(UNITS, q=1e-6)

    assert sum(r.flag != Flag.NONE for r in strict) <= sum(r.flag != Flag.NONE for r in lenient)
    assert {r.key for r in strict if r.flag != Flag.NONE} <= {
        r.key for r in lenient if r.flag != Flag.NONE
    }


def test_share_slices_use_the_two_proportion_test():
    weekdays = {day: ShareTally(60, 100) for day in ["mon", "tue", "wed", "thu", "fri"]}
    weekdays["sat"] = ShareTally(30, 100)

    results = {r.key: r for r in slice_vs_rest(weekdays)}

    _, p = proportions_ztest([30, 300], [100, 500])
    assert results["sat"].difference.p_value == pytest.approx(p)
    assert results["sat"].flag == Flag.BELOW
    assert results["mon"].flag == Flag.NONE


def test_mean_slices_use_welchs_test():
    hours = {
        "09": MeanTally.of([4, 5, 4, 3, 5, 4, 4, 5, 3, 4] * 4),
        "12": MeanTally.of([4, 4, 5, 3, 4, 5, 4, 4, 3, 5] * 4),
        "18": MeanTally.of([2, 3, 1, 2, 3, 2, 4, 2, 1, 2] * 4),
    }

    results = {r.key: r for r in slice_vs_rest(hours)}

    evening = [2, 3, 1, 2, 3, 2, 4, 2, 1, 2] * 4
    daytime = [4, 5, 4, 3, 5, 4, 4, 5, 3, 4] * 4 + [4, 4, 5, 3, 4, 5, 4, 4, 3, 5] * 4
    welch = scipy_stats.ttest_ind(evening, daytime, equal_var=False)
    assert results["18"].difference.p_value == pytest.approx(welch.pvalue)
    assert results["18"].flag == Flag.BELOW


def test_an_explicit_total_defines_the_rest():
    slices = {"north": NpsTally(50, 30, 20)}

    (result,) = slice_vs_rest(slices, total=NpsTally(150, 90, 60) + NpsTally(0, 0, 40))

    assert result.rest.n == 240
    assert result.rest.value == pytest.approx(100 * (100 - 80) / 240)


def test_no_slices_give_no_results():
    assert slice_vs_rest({}) == []


def test_slices_of_different_measures_are_refused():
    with pytest.raises(ValidationFailed) as raised:
        slice_vs_rest({"a": NpsTally(1, 1, 1), "b": ShareTally(1, 2)})  # type: ignore[type-var]

    assert raised.value.errors[0].field == "slices"


def test_a_total_smaller_than_a_slice_is_refused():
    with pytest.raises(ValidationFailed) as raised:
        slice_vs_rest({"a": NpsTally(50, 30, 20)}, total=NpsTally(10, 10, 10))

    assert raised.value.errors[0].field == "total"
