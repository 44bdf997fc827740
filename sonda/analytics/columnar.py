"""Scores and slice-vs-rest flags of many slices at once, as arrays.

A table of units × months holds thousands of cells; scoring each through `Score` objects costs
more than counting them. These functions compute the very figures of `sonda.analytics.stats` and
`sonda.analytics.significance` — the same formulas, the same floating-point operations in the
same order, so the numbers are identical, not merely close — over whole columns of counts, and
build a cell's `Score` only when a reader asks for that cell.

Transcendental functions that numpy and Python's `math` may round differently in the last place
(hypot, erfc, asin) run through `math` per slice: they are needed only for the flags, over a few
hundred slices, and the flags must not depend on which path computed them.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from operator import add

import numpy as np
from scipy import stats as scipy_stats

from sonda.analytics.queries import MeasureSpec, Metric
from sonda.analytics.significance import DEFAULT_FDR, Flag, benjamini_hochberg
from sonda.analytics.stats import (
    _BASE_DECIMALS,
    CONFIDENCE,
    NPS_ADDED_ANSWERS,
    NPS_ADDED_PER_EXTREME,
    Z95,
    Measure,
    Score,
)

Counts = Mapping[str, np.ndarray]


def measure_kind(measure: MeasureSpec) -> Measure:
    if measure.metric == Metric.NPS:
        return Measure.NPS
    if measure.metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        return Measure.SHARE
    return Measure.MEAN


@dataclass(frozen=True)
class ScoreColumns:
    """Each slice's score: arrays in the slices' order. `value`, `low`, `high` and
    `standard_error` are NaN where the scalar score has None (no interval for one answer)."""

    measure: Measure
    min_base: int
    n: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    standard_error: np.ndarray
    too_few: np.ndarray
    shares: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # NPS: p, passives, d

    def score(self, i: int) -> Score:
        """The `Score` of slice i, equal to the one `Tally.score` gives for its counts."""
        shares = None
        if self.shares is not None:
            shares = {
                "promoters": float(self.shares[0][i]),
                "passives": float(self.shares[1][i]),
                "detractors": float(self.shares[2][i]),
            }
        return Score(
            measure=self.measure,
            n=int(self.n[i]),
            value=_or_none(self.value[i]),
            low=_or_none(self.low[i]),
            high=_or_none(self.high[i]),
            too_few=bool(self.too_few[i]),
            base_min=self.min_base,
            shares=shares,
            standard_error=_or_none(self.standard_error[i]),
        )


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def score_columns(measure: MeasureSpec, counts: Counts) -> ScoreColumns:
    """The score of every slice of `counts` (each with n ≥ 1), as `stats` computes it."""
    kind = measure_kind(measure)
    n = counts["n"]
    too_few = np.round(n, _BASE_DECIMALS) < measure.min_base
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == Measure.NPS:
            return _nps(measure.min_base, n, counts["promoters"], counts["detractors"], too_few)
        if kind == Measure.SHARE:
            return _share(measure.min_base, n, counts["successes"], too_few)
        return _mean(measure.min_base, n, counts["total"], counts["squares"], too_few)


def _nps(
    min_base: int, n: np.ndarray, promoters: np.ndarray, detractors: np.ndarray, too_few: np.ndarray
) -> ScoreColumns:
    # stats.nps_from_counts, operation for operation (base = total = n).
    passives = n - promoters - detractors
    total = promoters + passives + detractors
    p_share, d_share = promoters / total, detractors / total
    value = 100 * ((promoters - detractors) / total)
    variance = np.maximum(0.0, p_share + d_share - (p_share - d_share) ** 2)
    adjusted_base = n + NPS_ADDED_ANSWERS
    p = (p_share * n + NPS_ADDED_PER_EXTREME) / adjusted_base
    d = (d_share * n + NPS_ADDED_PER_EXTREME) / adjusted_base
    centre = 100 * (p - d)
    half = Z95 * 100 * np.sqrt(np.maximum(0.0, p + d - (p - d) ** 2) / adjusted_base)
    return ScoreColumns(
        measure=Measure.NPS,
        min_base=min_base,
        n=n,
        value=value,
        low=np.minimum(100.0, np.maximum(-100.0, centre - half)),
        high=np.minimum(100.0, np.maximum(-100.0, centre + half)),
        standard_error=100 * np.sqrt(variance / n),
        too_few=too_few,
        shares=(p_share, passives / total, d_share),
    )


def _share(
    min_base: int, n: np.ndarray, successes: np.ndarray, too_few: np.ndarray
) -> ScoreColumns:
    # stats.top_box_share → share_from_base → wilson_interval (base = n).
    share = successes / n
    z2 = Z95**2
    denominator = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half = Z95 / denominator * np.sqrt(share * (1 - share) / n + z2 / (4 * n**2))
    return ScoreColumns(
        measure=Measure.SHARE,
        min_base=min_base,
        n=n,
        value=share,
        low=np.maximum(0.0, np.minimum(share, centre - half)),
        high=np.minimum(1.0, np.maximum(share, centre + half)),
        standard_error=np.sqrt(share * (1 - share) / n),
        too_few=too_few,
    )


def _mean(
    min_base: int, n: np.ndarray, total: np.ndarray, squares: np.ndarray, too_few: np.ndarray
) -> ScoreColumns:
    # MeanTally.score → mean_from_moments (base = n); one answer has no interval.
    mean = total / n
    variance = np.where(n > 1, np.maximum(0.0, squares - total * mean) / (n - 1), np.nan)
    standard_error = np.where(n > 1, np.sqrt(np.maximum(0.0, variance) / n), np.nan)
    quantiles = scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1))
    quantile = np.where(n > 1, quantiles, np.nan)
    half = quantile * standard_error
    return ScoreColumns(
        measure=Measure.MEAN,
        min_base=min_base,
        n=n,
        value=mean,
        low=mean - half,
        high=mean + half,
        standard_error=standard_error,
        too_few=too_few,
    )


# --- Each slice against the rest ---------------------------------------------------------------


@dataclass(frozen=True)
class FlagColumns:
    """Per slice: "below", "above" or ""; the BH-adjusted p-value (None when not tested); the
    effect size (None when undefined) — what `significance.slice_vs_rest` gives."""

    flags: list[str]
    q_values: list[float | None]
    effects: list[float | None]


def flags_vs_rest(measure: MeasureSpec, counts: Counts, *, q: float = DEFAULT_FDR) -> FlagColumns:
    """Each slice against all the others (the slices must not overlap), flagged where the
    difference survives Benjamini–Hochberg at false discovery rate q."""
    kind = measure_kind(measure)
    # The whole summed in the slices' order, one after another, as the tallies are added up.
    rest_counts = {
        name: reduce(add, values.tolist(), 0.0) - values for name, values in counts.items()
    }
    mine = score_columns(measure, counts)
    rest_n = rest_counts["n"]
    # A rest with no answers has no score: give it one answer to compute with, then drop it.
    empty_rest = rest_n == 0
    safe_rest = {name: np.where(empty_rest, 1.0, values) for name, values in rest_counts.items()}
    rest = score_columns(measure, safe_rest)
    size = len(counts["n"])
    differences = (mine.value - rest.value).tolist()
    p_values: list[float | None] = [None] * size
    mine_se, rest_se = mine.standard_error.tolist(), rest.standard_error.tolist()
    empty = empty_rest.tolist()
    values, rest_values = mine.value.tolist(), rest.value.tolist()
    bases, rest_bases = mine.n.tolist(), rest.n.tolist()
    for i in range(size):
        if empty[i] or math.isnan(mine_se[i]) or math.isnan(rest_se[i]):
            continue
        if kind == Measure.NPS:
            p_values[i] = _nps_p(differences[i], mine_se[i], rest_se[i])
        elif kind == Measure.SHARE:
            p_values[i] = _share_p(
                differences[i], values[i], bases[i], rest_values[i], rest_bases[i]
            )
    if kind == Measure.MEAN:
        _mean_p(p_values, differences, mine, rest, empty_rest)
    effects = _effects(kind, counts, safe_rest, empty_rest)
    shown = ~mine.too_few & ~rest.too_few & ~empty_rest
    tested = [i for i in np.flatnonzero(shown).tolist() if p_values[i] is not None]
    fdr = benjamini_hochberg([p_values[i] or 0.0 for i in tested], q=q)
    flags = [""] * size
    q_values: list[float | None] = [None] * size
    for j, i in enumerate(tested):
        q_values[i] = fdr.adjusted[j]
        if fdr.rejected[j] and differences[i] != 0:
            flags[i] = (Flag.BELOW if differences[i] < 0 else Flag.ABOVE).value
    return FlagColumns(flags=flags, q_values=q_values, effects=effects)


def _two_sided_z(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def _nps_p(difference: float, se_a: float, se_b: float) -> float:
    se = math.hypot(se_a, se_b)
    if se == 0:
        return 1.0 if difference == 0 else 0.0
    return _two_sided_z(difference / se)


def _share_p(difference: float, a: float, base_a: float, b: float, base_b: float) -> float:
    pooled = (a * base_a + b * base_b) / (base_a + base_b)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / base_a + 1 / base_b))
    if pooled_se == 0:
        return 1.0 if difference == 0 else 0.0
    return _two_sided_z(difference / pooled_se)


def _mean_p(
    p_values: list[float | None],
    differences: list[float],
    mine: ScoreColumns,
    rest: ScoreColumns,
    empty_rest: np.ndarray,
) -> None:
    # Welch's t-test, as significance.mean_difference; scipy's t.sf over the whole column.
    var_a, var_b = mine.standard_error**2, rest.standard_error**2
    ok = ~np.isnan(var_a) & ~np.isnan(var_b) & ~empty_rest
    se = np.sqrt(var_a + var_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (var_a + var_b) ** 2 / (var_a**2 / (mine.n - 1) + var_b**2 / (rest.n - 1))
        t = np.array(differences) / se
        tails = 2 * scipy_stats.t.sf(np.abs(t), df)
    for i in np.flatnonzero(ok).tolist():
        if se[i] == 0:
            p_values[i] = 1.0 if differences[i] == 0 else 0.0
        else:
            p_values[i] = float(tails[i])


def _effects(
    kind: Measure, counts: Counts, rest: Counts, empty_rest: np.ndarray
) -> list[float | None]:
    # significance.effect_size per slice: Cohen's h for shares, d for NPS and means.
    size = len(counts["n"])
    n_a, n_b = counts["n"].tolist(), rest["n"].tolist()
    out: list[float | None] = [None] * size
    empty = empty_rest.tolist()
    if kind == Measure.SHARE:
        s_a, s_b = counts["successes"].tolist(), rest["successes"].tolist()
        for i in range(size):
            if not empty[i]:
                out[i] = 2 * math.asin(math.sqrt(s_a[i] / n_a[i])) - 2 * math.asin(
                    math.sqrt(s_b[i] / n_b[i])
                )
        return out
    moments_a, moments_b = _moments(kind, counts), _moments(kind, rest)
    for i in range(size):
        if empty[i] or n_a[i] + n_b[i] <= 2:
            continue
        mean_a, squares_a = moments_a[i]
        mean_b, squares_b = moments_b[i]
        pooled = math.sqrt((squares_a + squares_b) / (n_a[i] + n_b[i] - 2))
        if pooled != 0:
            out[i] = (mean_a - mean_b) / pooled
    return out


def _moments(kind: Measure, counts: Counts) -> list[tuple[float, float]]:
    """(mean, Σ(x − mean)²) per slice of the per-answer values (+1/0/−1 for NPS), as
    significance._moments computes them."""
    out = []
    if kind == Measure.NPS:
        for n, promoters, detractors in zip(
            counts["n"].tolist(),
            counts["promoters"].tolist(),
            counts["detractors"].tolist(),
            strict=True,
        ):
            mean = (promoters - detractors) / n
            out.append((mean, promoters + detractors - n * mean**2))
        return out
    for n, total, squares in zip(
        counts["n"].tolist(), counts["total"].tolist(), counts["squares"].tolist(), strict=True
    ):
        mean = total / n
        out.append((mean, max(0.0, squares - total * mean)))
    return out
