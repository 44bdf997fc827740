"""Is a difference real? Differences of two scores with their tests, and slices against the rest.

- NPS: difference of two independent NPS, SE = √(SE₁² + SE₂²), two-sided z-test (domain). The
  test uses the plain standard errors, not the adjusted Wald ones: the adjustment is there to
  keep a single small-sample interval honest, and shrinking both sides towards 0 would bias the
  difference towards 0.
- Shares: the pooled two-proportion z-test; the interval of the difference uses the unpooled SE.
- Means: Welch's t-test (unequal variances, Welch–Satterthwaite degrees of freedom).

`slice_vs_rest` compares each slice (unit, weekday, channel…) with everything else and controls
the false discovery rate over all the slices with Benjamini–Hochberg, so that among 500 units
the ones flagged "below" are below, not the few that chance put at the bottom.
"""

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from operator import add
from typing import Generic, TypeVar

from scipy import stats as scipy_stats

from sonda.analytics.stats import (
    DEFAULT_MIN_BASE,
    Z95,
    MeanTally,
    Measure,
    NpsTally,
    Score,
    ShareTally,
    check_min_base,
    t_quantile,
)
from sonda.core.errors import ValidationFailed

DEFAULT_FDR = 0.05

K = TypeVar("K", bound=Hashable)
T = TypeVar("T", NpsTally, ShareTally, MeanTally)


@dataclass(frozen=True)
class Difference:
    """a − b in the measure's units, its 95% interval and the two-sided test of "no difference".

    Everything is None when either side has no value (or, for means, no spread: fewer than two
    answers). When the standard error is 0 (both sides unanimous) there is no test statistic and
    the p-value is 1 for equal values, 0 for different ones.
    """

    measure: Measure
    difference: float | None
    low: float | None
    high: float | None
    standard_error: float | None
    statistic: float | None  # z, or Welch's t for means
    p_value: float | None
    degrees_of_freedom: float | None = None  # Welch's, for means

    @property
    def tested(self) -> bool:
        return self.p_value is not None


def _untested(measure: Measure) -> Difference:
    return Difference(measure, None, None, None, None, None, None)


def _check_measures(a: Score, b: Score, measure: Measure) -> None:
    for name, score in (("a", a), ("b", b)):
        if score.measure != measure:
            raise ValidationFailed.on(name, f"is a {score.measure} score, not a {measure} one")


def _two_sided_z(z: float) -> float:
    # erfc keeps precision far out in the tail, where 1 − Φ(z) would round to 0.
    return math.erfc(abs(z) / math.sqrt(2))


def _degenerate_p(difference: float) -> float:
    return 1.0 if difference == 0 else 0.0


def nps_difference(a: Score, b: Score) -> Difference:
    """NPS a − b in points, with its interval and z-test on the plain standard errors."""
    _check_measures(a, b, Measure.NPS)
    if a.value is None or b.value is None or a.standard_error is None or b.standard_error is None:
        return _untested(Measure.NPS)
    difference = a.value - b.value
    se = math.hypot(a.standard_error, b.standard_error)
    if se == 0:
        return Difference(
            Measure.NPS, difference, difference, difference, 0.0, None, _degenerate_p(difference)
        )
    z = difference / se
    return Difference(
        measure=Measure.NPS,
        difference=difference,
        low=max(-200.0, difference - Z95 * se),
        high=min(200.0, difference + Z95 * se),
        standard_error=se,
        statistic=z,
        p_value=_two_sided_z(z),
    )


def share_difference(a: Score, b: Score) -> Difference:
    """Share a − b (fractions), tested with the pooled two-proportion z-test."""
    _check_measures(a, b, Measure.SHARE)
    if a.value is None or b.value is None or a.standard_error is None or b.standard_error is None:
        return _untested(Measure.SHARE)
    difference = a.value - b.value
    se = math.hypot(a.standard_error, b.standard_error)
    # Under "no difference" both sides share one proportion: estimate it from both together.
    pooled = (a.value * a.base + b.value * b.base) / (a.base + b.base)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / a.base + 1 / b.base))
    if pooled_se == 0:
        return Difference(
            Measure.SHARE, difference, difference, difference, se, None, _degenerate_p(difference)
        )
    z = difference / pooled_se
    return Difference(
        measure=Measure.SHARE,
        difference=difference,
        low=max(-1.0, difference - Z95 * se),
        high=min(1.0, difference + Z95 * se),
        standard_error=se,
        statistic=z,
        p_value=_two_sided_z(z),
    )


def mean_difference(a: Score, b: Score) -> Difference:
    """Mean a − b with Welch's t-test and interval; untested unless both have two answers."""
    _check_measures(a, b, Measure.MEAN)
    if a.value is None or b.value is None or a.standard_error is None or b.standard_error is None:
        return _untested(Measure.MEAN)
    difference = a.value - b.value
    var_a, var_b = a.standard_error**2, b.standard_error**2
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return Difference(
            Measure.MEAN, difference, difference, difference, 0.0, None, _degenerate_p(difference)
        )
    df = (var_a + var_b) ** 2 / (var_a**2 / (a.base - 1) + var_b**2 / (b.base - 1))
    t = difference / se
    half = t_quantile(df) * se
    return Difference(
        measure=Measure.MEAN,
        difference=difference,
        low=difference - half,
        high=difference + half,
        standard_error=se,
        statistic=t,
        p_value=float(2 * scipy_stats.t.sf(abs(t), df)),
        degrees_of_freedom=df,
    )


def difference(a: Score, b: Score) -> Difference:
    """a − b with the test that suits the measure."""
    if a.measure != b.measure:
        raise ValidationFailed.on("b", f"is a {b.measure} score, not a {a.measure} one")
    if a.measure == Measure.NPS:
        return nps_difference(a, b)
    if a.measure == Measure.SHARE:
        return share_difference(a, b)
    return mean_difference(a, b)


# --- Effect size -------------------------------------------------------------------------------


def _moments(tally: NpsTally | MeanTally) -> tuple[int, float, float]:
    """(n, mean, Σ(x − mean)²) of the per-answer values (+1/0/−1 for NPS)."""
    if isinstance(tally, NpsTally):
        n = tally.n
        mean = (tally.promoters - tally.detractors) / n
        return n, mean, tally.promoters + tally.detractors - n * mean**2
    mean = tally.total / tally.n
    return tally.n, mean, max(0.0, tally.total_of_squares - tally.total * mean)


def effect_size(a: T, b: T) -> float | None:
    """The standardised size of a − b: Cohen's h for shares, Cohen's d (pooled standard
    deviation of the answers, +1/0/−1 for NPS) otherwise. None when it is undefined."""
    if isinstance(a, ShareTally) and isinstance(b, ShareTally):
        if a.n == 0 or b.n == 0:
            return None
        return 2 * math.asin(math.sqrt(a.successes / a.n)) - 2 * math.asin(
            math.sqrt(b.successes / b.n)
        )
    if isinstance(a, ShareTally) or isinstance(b, ShareTally) or a.n + b.n <= 2:
        return None
    if a.n == 0 or b.n == 0:
        return None
    n_a, mean_a, squares_a = _moments(a)
    n_b, mean_b, squares_b = _moments(b)
    pooled = math.sqrt((squares_a + squares_b) / (n_a + n_b - 2))
    if pooled == 0:
        return None
    return (mean_a - mean_b) / pooled


# --- False discovery rate ----------------------------------------------------------------------


@dataclass(frozen=True)
class FdrResult:
    rejected: list[bool]  # in the order of the p-values given
    adjusted: list[float]  # BH-adjusted p-values ("q-values"), same order


def benjamini_hochberg(p_values: Sequence[float], *, q: float = DEFAULT_FDR) -> FdrResult:
    """Which hypotheses to reject keeping the false discovery rate at q (Benjamini–Hochberg).

    Step-up: with the p-values sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎, find the largest k with
    p₍ₖ₎ ≤ k/m·q and reject the k smallest. The adjusted p-value of p₍ᵢ₎ is
    min over j ≥ i of min(1, m·p₍ⱼ₎/j).
    """
    if not 0 < q < 1:
        raise ValidationFailed.on("q", "must be between 0 and 1")
    if not all(0 <= p <= 1 for p in p_values):
        raise ValidationFailed.on("p_values", "must all be between 0 and 1")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    last = 0
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= rank / m * q:
            last = rank
    rejected = [False] * m
    for index in order[:last]:
        rejected[index] = True
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, m * p_values[index] / rank)
        adjusted[index] = running
    return FdrResult(rejected=rejected, adjusted=adjusted)


# --- Slices against the rest -------------------------------------------------------------------


class Flag(StrEnum):
    BELOW = "below"
    ABOVE = "above"
    NONE = "none"


@dataclass(frozen=True)
class SliceComparison(Generic[K]):
    """One slice against the rest: both scores, the difference (slice − rest) and its test,
    the standardised effect size, the BH-adjusted p-value and the verdict."""

    key: K
    score: Score
    rest: Score
    difference: Difference
    effect_size: float | None
    q_value: float | None  # None when the slice was not tested
    flag: Flag

    @property
    def tested(self) -> bool:
        return self.q_value is not None


def slice_vs_rest(
    slices: Mapping[K, T],
    *,
    total: T | None = None,
    q: float = DEFAULT_FDR,
    min_base: int = DEFAULT_MIN_BASE,
) -> list[SliceComparison[K]]:
    """Each slice against the rest, flagged "below" or "above" where the difference survives
    Benjamini–Hochberg at false discovery rate q; in the order of `slices`.

    The slices must not overlap (units of one level, weekdays, hours…). The rest is `total`
    minus the slice; `total` defaults to the sum of the slices. A slice is tested only when both
    it and its rest reach the minimum base: a figure too small to show is too small to flag,
    and it does not count among the m hypotheses either.
    """
    check_min_base(min_base)
    if not 0 < q < 1:
        raise ValidationFailed.on("q", "must be between 0 and 1")
    tallies = list(slices.values())
    if not tallies:
        return []
    kind = type(tallies[0])
    if any(type(t) is not kind for t in tallies) or (total is not None and type(total) is not kind):
        raise ValidationFailed.on("slices", "must all count the same measure")
    whole = total if total is not None else reduce(add, tallies)
    rows: list[tuple[K, Score, Score, Difference, float | None]] = []
    for key, tally in slices.items():
        if not tally.is_valid():
            raise ValidationFailed.on("slices", f"{key}: counts cannot be negative")
        rest = whole - tally
        if not rest.is_valid():
            raise ValidationFailed.on("total", f"is smaller than the slice {key}")
        score, rest_score = tally.score(min_base=min_base), rest.score(min_base=min_base)
        rows.append(
            (key, score, rest_score, difference(score, rest_score), effect_size(tally, rest))
        )
    tested = [
        i
        for i, (_, score, rest_score, diff, _) in enumerate(rows)
        if not score.too_few and not rest_score.too_few and diff.p_value is not None
    ]
    fdr = benjamini_hochberg([rows[i][3].p_value or 0.0 for i in tested], q=q)
    verdicts: dict[int, tuple[float, bool]] = {
        i: (fdr.adjusted[j], fdr.rejected[j]) for j, i in enumerate(tested)
    }
    out: list[SliceComparison[K]] = []
    for i, (key, score, rest_score, diff, effect) in enumerate(rows):
        q_value, rejected = verdicts.get(i, (None, False))
        flag = Flag.NONE
        if rejected and diff.difference is not None and diff.difference != 0:
            flag = Flag.BELOW if diff.difference < 0 else Flag.ABOVE
        out.append(SliceComparison(key, score, rest_score, diff, effect, q_value, flag))
    return out
