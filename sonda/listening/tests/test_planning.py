"""The sample-size planner against "Required sample" in the domain, computed here by hand.

n = 1.96²·Var·100²/E² answers for ±E NPS points at 95%, Var = p + d − (p − d)²; invitations =
n / r; among N customers n·N / (n + N − 1).
"""

import math
from datetime import UTC, datetime

import pytest

from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.listening.planning import sample_size_plan
from sonda.surveys.models import Program
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.tests.factories import make_published_survey


def by_hand(*, margin: float, p: float | None = None, d: float | None = None) -> float:
    variance = 1.0 if p is None or d is None else p + d - (p - d) ** 2
    return 1.96**2 * variance * 100**2 / margin**2


def plan(world, user=None, **kwargs):
    return sample_size_plan(scope=world.scope(user or world.analyst), **kwargs)


def test_the_worst_case_at_five_points_needs_about_1537_answers(world):
    result = plan(world, margin=5)
    assert (result.variance, result.variance_source) == (1.0, "worst_case")
    assert result.responses_needed == 1537 == math.ceil(by_hand(margin=5))
    assert (result.invitations_needed, result.responses_needed_in_population) == (None, None)


@pytest.mark.parametrize(
    ("margin", "p", "d", "rate"),
    [(5, 0.5, 0.2, 0.2), (3, 0.6, 0.1, 0.35), (10, 0.3, 0.3, 0.05), (2.5, 0.45, 0.15, 1.0)],
)
def test_an_expected_mix_and_a_response_rate_give_answers_and_invitations(
    world, margin, p, d, rate
):
    result = plan(world, margin=margin, promoters=p, detractors=d, response_rate=rate)
    needed = math.ceil(by_hand(margin=margin, p=p, d=d))
    assert result.variance_source == "mix"
    assert result.variance == round(p + d - (p - d) ** 2, 6)
    assert result.responses_needed == needed
    assert result.invitations_needed == math.ceil(needed / rate)


@pytest.mark.parametrize("population", [1, 50, 800, 1537, 1_000_000])
def test_a_small_population_needs_fewer_answers(world, population):
    result = plan(world, margin=5, population=population, response_rate=0.25)
    n0 = by_hand(margin=5)
    corrected = math.ceil(n0 * population / (n0 + population - 1))
    assert result.responses_needed == math.ceil(n0)
    assert result.responses_needed_in_population == corrected
    assert corrected <= population
    assert result.invitations_needed == math.ceil(corrected / 0.25)


def test_the_variance_comes_from_the_surveys_nps_answers_by_its_programs_thresholds(world):
    survey = make_published_survey(world.scope(world.analyst))
    # This program counts 8 as a promoter and 5 as a passive.
    Program.objects.filter(pk=survey.program_id).update(promoter_min=8, detractor_max=4)
    for score in (10, 8, 7, 5, 4, 0):
        response_submit(
            survey=survey,
            context=ResponseContext(language="ro"),
            answers={"ltr": score},
            completed_at=datetime(2026, 1, 5, tzinfo=UTC),
        )

    result = plan(world, margin=5, survey_id=survey.pk, promoters=0.9, detractors=0.0)

    p, d = 2 / 6, 2 / 6
    assert (result.variance_source, result.history_answers) == ("survey", 6)
    assert result.variance == round(p + d - (p - d) ** 2, 6)
    assert result.responses_needed == math.ceil(by_hand(margin=5, p=p, d=d))


def test_a_survey_without_answers_falls_back_to_the_mix_or_the_worst_case(world):
    survey = make_published_survey(world.scope(world.analyst))
    worst = plan(world, margin=5, survey_id=survey.pk)
    assert (worst.variance_source, worst.responses_needed) == ("worst_case", 1537)
    assert worst.notes == ["The survey has no NPS answers yet: the worst case is used."]
    mix = plan(world, margin=5, survey_id=survey.pk, promoters=0.5, detractors=0.5)
    assert (mix.variance_source, mix.variance) == ("mix", 1.0)


def test_another_organisations_survey_is_not_found(world):
    stranger = make_published_survey(world.scope(world.outsider, world.other_org))
    with pytest.raises(NotFound):
        plan(world, survey_id=stranger.pk)


def test_the_planner_is_for_the_readers_of_the_whole_organisation(world):
    assert plan(world, world.executive).responses_needed == 1537
    for user in (world.manager_north, world.frontline):
        with pytest.raises(PermissionDenied):
            plan(world, user)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"margin": 0}, "margin"),
        ({"margin": -2}, "margin"),
        ({"promoters": 0.4}, "detractors"),
        ({"detractors": 0.4}, "promoters"),
        ({"promoters": 1.2, "detractors": 0}, "promoters"),
        ({"promoters": 0.6, "detractors": 0.6}, "detractors"),
        ({"response_rate": 0}, "response_rate"),
        ({"response_rate": 1.5}, "response_rate"),
        ({"population": 0}, "population"),
    ],
)
def test_a_plan_it_cannot_make_names_the_field(world, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        plan(world, **kwargs)
    assert [error.field for error in refused.value.errors] == [field]
