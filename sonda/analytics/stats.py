"""Scores with their 95% intervals: NPS, top-box shares and means, and the sample they need.

Pure functions over counts or values: the query layer aggregates answers, these turn the
aggregates into figures that say how sure they are (domain, "Metrics and formulas").

Scales: NPS in points on −100…+100; shares (top box, class shares) as fractions 0…1; means in
the measure's own units. Below the minimum base a score is flagged `too_few`: callers show
"too few answers" instead of the figure (`Score.shown_value`), but the value is kept so that it
can be tested and combined.

Weighted scores live in `sonda.analytics.stats_weights`, differences, tests and the
slice-vs-rest analysis in `sonda.analytics.significance`.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Self

from scipy import stats as scipy_stats

from sonda.core.errors import ValidationFailed

CONFIDENCE = 0.95
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963…, the domain's "1.96"
DEFAULT_MIN_BASE = 30
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
# The adjusted Wald interval for NPS adds three pseudo-answers: ¾ promoter, ¾ detractor and
# 1½ passive, which pulls small samples towards 0 so they do not look over-confident.
NPS_ADDED_ANSWERS = 3.0
NPS_ADDED_PER_EXTREME = 0.75
# Float noise must not make 30 equal weights an effective base of 29.999… ("too few").
_BASE_DECIMALS = 9


class Measure(StrEnum):
    NPS = "nps"
    SHARE = "share"
    MEAN = "mean"


@dataclass(frozen=True)
class Score:
    """One figure with its 95% interval and the base it rests on.

    `value`, `low` and `high` are None when there is nothing to compute them from (no answers;
    an interval needs two answers for a mean). When `too_few` is True the value is still there
    but must not be shown: use `shown_value`. `standard_error` is the plain (unadjusted) one that
    the significance tests use, in the value's units. `effective_n` is set for weighted scores
    only: the Kish effective base the interval rests on.
    """

    measure: Measure
    n: int
    value: float | None
    low: float | None
    high: float | None
    too_few: bool
    base_min: int
    shares: dict[str, float] | None = None
    effective_n: float | None = None
    standard_error: float | None = None

    @property
    def shown_value(self) -> float | None:
        """The value to display: None below the minimum base ("too few answers")."""
        return None if self.too_few else self.value

    @property
    def base(self) -> float:
        """The number of answers the precision rests on: the effective base when weighted."""
        return self.n if self.effective_n is None else self.effective_n


def is_too_few(base: float, min_base: int) -> bool:
    """Whether `base` answers (possibly an effective, fractional base) fall below the minimum."""
    return round(base, _BASE_DECIMALS) < min_base


def check_min_base(min_base: int) -> None:
    if min_base < 0:
        raise ValidationFailed.on("min_base", "must be 0 or more")


def _check_count(name: str, value: int) -> None:
    if value < 0:
        raise ValidationFailed.on(name, "must be 0 or more")


def _check_finite(name: str, values: Iterable[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValidationFailed.on(name, "must all be finite numbers")


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


# --- NPS ---------------------------------------------------------------------------------------


def nps_from_counts(
    *,
    promoters: float,
    passives: float,
    detractors: float,
    n: int,
    base: float,
    min_base: int,
    effective_n: float | None = None,
) -> Score:
    """The NPS of counted (or weighted) promoters, passives and detractors whose precision rests
    on `base` answers, with its interval and the class shares.

    The interval is the adjusted Wald one (domain): add 3 to the base and ¾ to the promoters and
    to the detractors, then centre ± 1.96·100·√(Var'/n') with Var' = p' + d' − (p' − d')². It is
    clipped to −100…+100. The value itself is the plain NPS, which the interval contains from
    two answers on (a single answer's ±100 lies just outside: far below any minimum base).
    """
    total = promoters + passives + detractors
    p_share, d_share = promoters / total, detractors / total
    shares = {"promoters": p_share, "passives": passives / total, "detractors": d_share}
    value = 100 * ((promoters - detractors) / total)  # in this order it never leaves ±100
    variance = max(0.0, p_share + d_share - (p_share - d_share) ** 2)
    adjusted_base = base + NPS_ADDED_ANSWERS
    p = (p_share * base + NPS_ADDED_PER_EXTREME) / adjusted_base
    d = (d_share * base + NPS_ADDED_PER_EXTREME) / adjusted_base
    centre = 100 * (p - d)
    half = Z95 * 100 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / adjusted_base)
    return Score(
        measure=Measure.NPS,
        n=n,
        value=value,
        low=_clamp(centre - half, -100.0, 100.0),
        high=_clamp(centre + half, -100.0, 100.0),
        too_few=is_too_few(base, min_base),
        base_min=min_base,
        shares=shares,
        effective_n=effective_n,
        standard_error=100 * math.sqrt(variance / base),
    )


def empty_score(measure: Measure, *, min_base: int, effective_n: float | None = None) -> Score:
    """The score of no answers: no value, no interval, too few."""
    return Score(
        measure=measure,
        n=0,
        value=None,
        low=None,
        high=None,
        too_few=True,
        base_min=min_base,
        effective_n=effective_n,
    )


def nps_score(
    promoters: int, passives: int, detractors: int, *, min_base: int = DEFAULT_MIN_BASE
) -> Score:
    """The NPS (−100…+100) of counted promoters, passives and detractors, with its interval
    and the class shares (0…1)."""
    for name, count in (
        ("promoters", promoters),
        ("passives", passives),
        ("detractors", detractors),
    ):
        _check_count(name, count)
    check_min_base(min_base)
    n = promoters + passives + detractors
    if n == 0:
        return empty_score(Measure.NPS, min_base=min_base)
    return nps_from_counts(
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        n=n,
        base=n,
        min_base=min_base,
    )


def check_thresholds(promoter_min: float, detractor_max: float) -> None:
    if not detractor_max < promoter_min:
        raise ValidationFailed.on("promoter_min", "must be above the detractors' highest score")


def nps_class(score: float, *, promoter_min: float, detractor_max: float) -> int:
    """+1 for a promoter, −1 for a detractor, 0 for a passive."""
    if score >= promoter_min:
        return 1
    if score <= detractor_max:
        return -1
    return 0


def nps_from_scores(
    scores: Iterable[float],
    *,
    promoter_min: float = PROMOTER_MIN,
    detractor_max: float = DETRACTOR_MAX,
    min_base: int = DEFAULT_MIN_BASE,
) -> Score:
    """The NPS of raw 0–10 answers, classed by the program's thresholds (9–10 promote and 0–6
    detract by default; a score between the two is passive)."""
    check_thresholds(promoter_min, detractor_max)
    values = list(scores)
    _check_finite("scores", values)
    classes = [nps_class(s, promoter_min=promoter_min, detractor_max=detractor_max) for s in values]
    return nps_score(classes.count(1), classes.count(0), classes.count(-1), min_base=min_base)


# --- Shares (top box, "easy", yes/no) ----------------------------------------------------------


def wilson_interval(share: float, base: float) -> tuple[float, float]:
    """The 95% Wilson interval of a share (0…1) observed over `base` answers."""
    z2 = Z95**2
    denominator = 1 + z2 / base
    centre = (share + z2 / (2 * base)) / denominator
    half = Z95 / denominator * math.sqrt(share * (1 - share) / base + z2 / (4 * base**2))
    # The Wilson interval always contains the share (it ends exactly at 0 or 1 for a unanimous
    # sample); min/max only remove the float noise that would put 1 a hair outside.
    return max(0.0, min(share, centre - half)), min(1.0, max(share, centre + half))


def share_from_base(
    *, share: float, n: int, base: float, min_base: int, effective_n: float | None = None
) -> Score:
    """The score of a share (0…1) over `base` answers, with its Wilson interval."""
    low, high = wilson_interval(share, base)
    return Score(
        measure=Measure.SHARE,
        n=n,
        value=share,
        low=low,
        high=high,
        too_few=is_too_few(base, min_base),
        base_min=min_base,
        effective_n=effective_n,
        standard_error=math.sqrt(share * (1 - share) / base),
    )


def top_box_share(successes: int, n: int, *, min_base: int = DEFAULT_MIN_BASE) -> Score:
    """The share (0…1) of `successes` among `n` answers, with its Wilson interval: CSAT
    top-2-box, CES "easy", yes/no."""
    _check_count("successes", successes)
    _check_count("n", n)
    if successes > n:
        raise ValidationFailed.on("successes", "cannot exceed the number of answers")
    check_min_base(min_base)
    if n == 0:
        return empty_score(Measure.SHARE, min_base=min_base)
    return share_from_base(share=successes / n, n=n, base=n, min_base=min_base)


def share_from_scores(
    scores: Iterable[float], *, top_min: float, min_base: int = DEFAULT_MIN_BASE
) -> Score:
    """The share of raw answers at or above `top_min` (4 for CSAT top-2-box on 1–5)."""
    values = list(scores)
    _check_finite("scores", values)
    return top_box_share(sum(v >= top_min for v in values), len(values), min_base=min_base)


# --- Means -------------------------------------------------------------------------------------


def t_quantile(degrees_of_freedom: float) -> float:
    """The two-sided 95% quantile of Student's t."""
    return float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, degrees_of_freedom))


def mean_from_moments(
    *,
    mean: float,
    variance: float | None,
    n: int,
    base: float,
    min_base: int,
    effective_n: float | None = None,
) -> Score:
    """The score of a mean with its t-interval: variance is the sample (n − 1) variance, None
    for a single answer, which has no interval."""
    if variance is None or base <= 1:
        low = high = standard_error = None
    else:
        standard_error = math.sqrt(max(0.0, variance) / base)
        half = t_quantile(base - 1) * standard_error
        low, high = mean - half, mean + half
    return Score(
        measure=Measure.MEAN,
        n=n,
        value=mean,
        low=low,
        high=high,
        too_few=is_too_few(base, min_base),
        base_min=min_base,
        effective_n=effective_n,
        standard_error=standard_error,
    )


def mean_score(values: Iterable[float], *, min_base: int = DEFAULT_MIN_BASE) -> Score:
    """The mean of the answers with its 95% t-interval (none for a single answer)."""
    check_min_base(min_base)
    data = list(values)
    _check_finite("values", data)
    n = len(data)
    if n == 0:
        return empty_score(Measure.MEAN, min_base=min_base)
    mean = math.fsum(data) / n
    variance = math.fsum((v - mean) ** 2 for v in data) / (n - 1) if n > 1 else None
    return mean_from_moments(mean=mean, variance=variance, n=n, base=n, min_base=min_base)


# --- Tallies: the sufficient statistics a query returns per slice ------------------------------


@dataclass(frozen=True)
class NpsTally:
    """Counted loyalty classes of one slice."""

    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    def __add__(self, other: Self) -> Self:
        return type(self)(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __sub__(self, other: Self) -> Self:
        return type(self)(
            self.promoters - other.promoters,
            self.passives - other.passives,
            self.detractors - other.detractors,
        )

    def is_valid(self) -> bool:
        return min(self.promoters, self.passives, self.detractors) >= 0

    def score(self, *, min_base: int = DEFAULT_MIN_BASE) -> Score:
        return nps_score(self.promoters, self.passives, self.detractors, min_base=min_base)


@dataclass(frozen=True)
class ShareTally:
    """Answers of one slice and how many of them are in the top box (or "yes")."""

    successes: int
    n: int

    def __add__(self, other: Self) -> Self:
        return type(self)(self.successes + other.successes, self.n + other.n)

    def __sub__(self, other: Self) -> Self:
        return type(self)(self.successes - other.successes, self.n - other.n)

    def is_valid(self) -> bool:
        return 0 <= self.successes <= self.n

    def score(self, *, min_base: int = DEFAULT_MIN_BASE) -> Score:
        return top_box_share(self.successes, self.n, min_base=min_base)


@dataclass(frozen=True)
class MeanTally:
    """Answers of one slice, their sum and their sum of squares (what SQL aggregates cheaply,
    and what adds up across slices)."""

    n: int
    total: float
    total_of_squares: float

    def __add__(self, other: Self) -> Self:
        return type(self)(
            self.n + other.n,
            self.total + other.total,
            self.total_of_squares + other.total_of_squares,
        )

    def __sub__(self, other: Self) -> Self:
        return type(self)(
            self.n - other.n,
            self.total - other.total,
            self.total_of_squares - other.total_of_squares,
        )

    def is_valid(self) -> bool:
        return self.n >= 0

    @classmethod
    def of(cls, values: Iterable[float]) -> Self:
        data = list(values)
        return cls(len(data), math.fsum(data), math.fsum(v * v for v in data))

    def score(self, *, min_base: int = DEFAULT_MIN_BASE) -> Score:
        check_min_base(min_base)
        _check_count("n", self.n)
        if self.n == 0:
            return empty_score(Measure.MEAN, min_base=min_base)
        mean = self.total / self.n
        variance = None
        if self.n > 1:
            # Cancellation can leave a hair below zero when all answers are equal.
            squares = self.total_of_squares - self.total * mean
            variance = max(0.0, squares) / (self.n - 1)
        return mean_from_moments(
            mean=mean, variance=variance, n=self.n, base=self.n, min_base=min_base
        )


Tally = NpsTally | ShareTally | MeanTally


# --- Planning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredSample:
    """Answers (and invitations) needed for a 95% margin of error."""

    margin: float
    variance: float
    answers: int  # with the finite-population correction when a population is given
    answers_infinite_population: int
    population: int | None
    response_rate: float | None
    invitations: int | None  # None without a response rate


def required_sample(
    margin: float,
    variance: float = 1.0,
    response_rate: float | None = None,
    population: int | None = None,
) -> RequiredSample:
    """Answers needed for a 95% margin of ±`margin` points: n = 1.96²·Var·100²/E².

    Points are NPS points with Var the variance of one +1/0/−1 answer (worst case 1: ±5 points
    need 1,537 answers), or percentage points of a share with Var = p(1 − p) (worst case ¼).
    Among a population of N the finite-population correction gives n·N / (n + N − 1); with a
    response rate r, invitations = answers / r.
    """
    if not (math.isfinite(margin) and margin > 0):
        raise ValidationFailed.on("margin", "must be more than 0 points")
    if not (math.isfinite(variance) and variance > 0):
        raise ValidationFailed.on("variance", "must be more than 0")
    if response_rate is not None and not 0 < response_rate <= 1:
        raise ValidationFailed.on("response_rate", "must be a share above 0 and at most 1")
    if population is not None and population < 1:
        raise ValidationFailed.on("population", "must be at least 1")
    needed = Z95**2 * variance * 100**2 / margin**2
    in_population = (
        needed if population is None else needed * population / (needed + population - 1)
    )
    answers = _round_up(in_population)
    return RequiredSample(
        margin=margin,
        variance=variance,
        answers=answers,
        answers_infinite_population=_round_up(needed),
        population=population,
        response_rate=response_rate,
        invitations=None if response_rate is None else _round_up(answers / response_rate),
    )


def _round_up(value: float) -> int:
    # A hair of floating-point error must not ask for one more answer (1536.0000000002 → 1537).
    return math.ceil(round(value, 9))
