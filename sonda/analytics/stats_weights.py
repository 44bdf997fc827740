"""Weighted scores: NPS, shares and means when each answer carries a weight.

An analyst weights answers to correct the sample's mix, e.g. by segment share: a segment with
10% of the customers but 30% of the answers gets weights so that it counts for 10%. Weighting
costs precision, so every interval rests on Kish's effective base n_eff = (Σw)² / Σw², which
equals the number of answers when all weights are equal and shrinks as they spread. The minimum
base is checked against n_eff too: thirty answers, one of which carries nearly all the weight,
are in effect one answer.
"""

import math
from collections.abc import Sequence

from sonda.analytics.stats import (
    DEFAULT_MIN_BASE,
    DETRACTOR_MAX,
    PROMOTER_MIN,
    Measure,
    Score,
    check_min_base,
    check_thresholds,
    empty_score,
    mean_from_moments,
    nps_class,
    nps_from_counts,
    share_from_base,
)
from sonda.core.errors import ValidationFailed


def effective_base(weights: Sequence[float]) -> float:
    """Kish's effective base of weighted answers: (Σw)² / Σw²."""
    _check_weights(weights, len(weights))
    return _kish(weights) if weights else 0.0


def _kish(weights: Sequence[float]) -> float:
    return math.fsum(weights) ** 2 / math.fsum(w * w for w in weights)


def _check_weights(weights: Sequence[float], expected: int) -> None:
    if len(weights) != expected:
        raise ValidationFailed.on("weights", f"needs one weight per answer ({expected})")
    if not all(math.isfinite(w) for w in weights):
        raise ValidationFailed.on("weights", "must all be finite numbers")
    if any(w < 0 for w in weights):
        raise ValidationFailed.on("weights", "cannot be negative")
    if weights and not math.fsum(weights) > 0:
        raise ValidationFailed.on("weights", "must not sum to zero")


def _check_values(name: str, values: Sequence[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValidationFailed.on(name, "must all be finite numbers")


def _answered(weights: Sequence[float]) -> int:
    # An answer weighted 0 does not count at all, not even towards n.
    return sum(1 for w in weights if w > 0)


def weighted_nps(
    scores: Sequence[float],
    weights: Sequence[float],
    *,
    promoter_min: float = PROMOTER_MIN,
    detractor_max: float = DETRACTOR_MAX,
    min_base: int = DEFAULT_MIN_BASE,
) -> Score:
    """The weighted NPS of raw 0–10 answers, with the adjusted Wald interval on n_eff."""
    check_thresholds(promoter_min, detractor_max)
    check_min_base(min_base)
    _check_values("scores", scores)
    _check_weights(weights, len(scores))
    if not scores:
        return empty_score(Measure.NPS, min_base=min_base)
    classes = [nps_class(s, promoter_min=promoter_min, detractor_max=detractor_max) for s in scores]
    weight_by_class = {
        nps: math.fsum(w for w, c in zip(weights, classes, strict=True) if c == nps)
        for nps in (1, 0, -1)
    }
    n_eff = _kish(weights)
    return nps_from_counts(
        promoters=weight_by_class[1],
        passives=weight_by_class[0],
        detractors=weight_by_class[-1],
        n=_answered(weights),
        base=n_eff,
        min_base=min_base,
        effective_n=n_eff,
    )


def weighted_share(
    successes: Sequence[bool], weights: Sequence[float], *, min_base: int = DEFAULT_MIN_BASE
) -> Score:
    """The weighted share (0…1) of successful answers, with the Wilson interval on n_eff."""
    check_min_base(min_base)
    _check_weights(weights, len(successes))
    if not successes:
        return empty_score(Measure.SHARE, min_base=min_base)
    total = math.fsum(weights)
    share = math.fsum(w for w, ok in zip(weights, successes, strict=True) if ok) / total
    n_eff = _kish(weights)
    return share_from_base(
        share=min(1.0, share),
        n=_answered(weights),
        base=n_eff,
        min_base=min_base,
        effective_n=n_eff,
    )


def weighted_mean(
    values: Sequence[float], weights: Sequence[float], *, min_base: int = DEFAULT_MIN_BASE
) -> Score:
    """The weighted mean with a t-interval on n_eff (n_eff − 1 degrees of freedom).

    The spread is the weighted variance Σw(x − x̄)² / Σw, scaled by n_eff / (n_eff − 1) so that
    equal weights give exactly the unweighted sample variance and interval.
    """
    check_min_base(min_base)
    _check_values("values", values)
    _check_weights(weights, len(values))
    if not values:
        return empty_score(Measure.MEAN, min_base=min_base)
    total = math.fsum(weights)
    mean = math.fsum(w * v for w, v in zip(weights, values, strict=True)) / total
    n_eff = _kish(weights)
    variance = None
    if round(n_eff, 9) > 1:
        spread = math.fsum(w * (v - mean) ** 2 for w, v in zip(weights, values, strict=True))
        variance = spread / total * n_eff / (n_eff - 1)
    return mean_from_moments(
        mean=mean,
        variance=variance,
        n=_answered(weights),
        base=n_eff,
        min_base=min_base,
        effective_n=n_eff,
    )
