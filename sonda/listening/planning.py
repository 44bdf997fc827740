"""The sample-size planner: how many answers, and invitations, a margin of error needs.

From "Required sample" in the domain: to reach a margin of E NPS points at 95%,
n = 1.96²·Var·100²/E², where Var = p + d − (p − d)² is the variance of the +1/0/−1 score with
promoter and detractor shares p and d (from an expected mix, from a survey's history, or the worst
case Var = 1). With a response rate r, invitations = n / r. A small population of N customers
needs fewer answers: n' = n·N / (n + N − 1) (the finite-population correction).
"""

import math
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, F, Q

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.listening.simulation import WORST_CASE_VARIANCE, Z95
from sonda.surveys.models import Answer, QuestionKind, Survey

DEFAULT_MARGIN = 5.0


def nps_variance(*, promoters: float, detractors: float) -> float:
    """The variance of one answer's +1/0/−1 value, given promoter and detractor shares (0…1)."""
    return promoters + detractors - (promoters - detractors) ** 2


def answers_for_margin(*, variance: float, margin: float) -> float:
    """Answers for a 95% margin of `margin` NPS points, before rounding up (infinite population)."""
    return Z95**2 * variance * 100**2 / margin**2


def finite_population(*, needed: float, population: int) -> float:
    """Answers needed among `population` customers when `needed` would do for an infinite one."""
    return needed * population / (needed + population - 1)


@dataclass(frozen=True)
class SamplePlan:
    margin: float
    variance: float
    variance_source: str  # "survey" (its history), "mix" (the expected shares) or "worst_case"
    history_answers: int  # NPS answers the survey's variance comes from (0 otherwise)
    promoters: float | None  # the shares (0…1) the variance comes from, when known
    detractors: float | None
    responses_needed: int  # infinite population
    population: int | None
    responses_needed_in_population: int | None  # with the finite-population correction
    response_rate: float | None  # 0…1
    invitations_needed: int | None
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def survey_nps_history(*, scope: Scope, survey_id: int) -> tuple[int, int, int]:
    """(answers, promoters, detractors) of the survey's own NPS question (not about a competitor),
    classed by its program's thresholds."""
    survey = (
        Survey.objects.filter(organisation=scope.organisation, pk=survey_id)
        .select_related("program")
        .first()
    )
    if survey is None:
        raise NotFound("No such survey.")
    counts = Answer.objects.filter(
        organisation=scope.organisation,
        survey_id=survey.pk,
        kind=QuestionKind.NPS,
        value_number__isnull=False,
        question__competitor="",
    ).aggregate(
        n=Count("id"),
        promoters=Count("id", filter=Q(value_number__gte=F("program__promoter_min"))),
        detractors=Count("id", filter=Q(value_number__lte=F("program__detractor_max"))),
    )
    return counts["n"], counts["promoters"], counts["detractors"]


def _check(
    margin: float,
    promoters: float | None,
    detractors: float | None,
    response_rate: float | None,
    population: int | None,
) -> None:
    if not margin > 0:
        raise ValidationFailed.on("margin", "must be more than 0 points")
    if (promoters is None) != (detractors is None):
        field = "detractors" if detractors is None else "promoters"
        raise ValidationFailed.on(field, "give both promoters and detractors, or neither")
    for name, share in (("promoters", promoters), ("detractors", detractors)):
        if share is not None and not 0 <= share <= 1:
            raise ValidationFailed.on(name, "must be a share between 0 and 1")
    if promoters is not None and detractors is not None and promoters + detractors > 1:
        raise ValidationFailed.on("detractors", "promoters and detractors exceed the whole")
    if response_rate is not None and not 0 < response_rate <= 1:
        raise ValidationFailed.on("response_rate", "must be a share above 0 and at most 1")
    if population is not None and population < 1:
        raise ValidationFailed.on("population", "must be at least 1")


def sample_size_plan(
    *,
    scope: Scope,
    margin: float = DEFAULT_MARGIN,
    promoters: float | None = None,
    detractors: float | None = None,
    survey_id: int | None = None,
    response_rate: float | None = None,
    population: int | None = None,
) -> SamplePlan:
    """Answers (and invitations) needed for a 95% margin of `margin` NPS points.

    The variance comes from the survey's history when a survey is named and has NPS answers,
    else from the expected shares, else the worst case (Var = 1).
    """
    scope.require(READ_WHOLE_ORGANISATION, "plan sample sizes")
    _check(margin, promoters, detractors, response_rate, population)
    notes: list[str] = []
    history = 0
    if survey_id is not None:
        history, n_promoters, n_detractors = survey_nps_history(scope=scope, survey_id=survey_id)
        if history:
            promoters, detractors = n_promoters / history, n_detractors / history
            source = "survey"
        elif promoters is None:
            notes.append("The survey has no NPS answers yet: the worst case is used.")
    if survey_id is None or not history:
        source = "mix" if promoters is not None else "worst_case"
    if promoters is not None and detractors is not None:
        variance = nps_variance(promoters=promoters, detractors=detractors)
    else:
        variance = WORST_CASE_VARIANCE
    if variance == 0:
        notes.append(
            "With everyone in one loyalty class the variance is 0: a single answer would do, "
            "which no real sample supports. Plan with the worst case instead."
        )
    needed = answers_for_margin(variance=variance, margin=margin)
    needed_in_population = (
        finite_population(needed=needed, population=population) if population else None
    )
    answers = needed_in_population if needed_in_population is not None else needed
    return SamplePlan(
        margin=margin,
        variance=round(variance, 6),
        variance_source=source,
        history_answers=history,
        promoters=None if promoters is None else round(promoters, 6),
        detractors=None if detractors is None else round(detractors, 6),
        responses_needed=_up(needed),
        population=population,
        responses_needed_in_population=(
            None if needed_in_population is None else _up(needed_in_population)
        ),
        response_rate=response_rate,
        invitations_needed=_up(_up(answers) / response_rate) if response_rate else None,
        notes=notes,
    )


def _up(value: float) -> int:
    # A hair of floating-point error must not ask for one more answer (1536.0000000002 → 1537).
    return math.ceil(round(value, 9))
