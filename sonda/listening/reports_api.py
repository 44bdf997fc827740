"""Listening figures over the API: dry runs, the sample-size planner, response rates and the
customers who stopped answering. Nothing here writes."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.listening.planning import sample_size_plan
from sonda.listening.rates import NonResponder, non_responders, response_rates
from sonda.listening.report_schemas import (
    NonResponderOut,
    NonRespondersQuery,
    RatesOut,
    RatesQuery,
    SampleSizeOut,
    SampleSizeQuery,
    SimulationIn,
    SimulationOut,
)
from sonda.listening.simulation import Simulation, simulate_rules

router = Router(tags=["listening reports"])


def simulation_json(simulation: Simulation) -> dict[str, Any]:
    """The dry run's result, each unit-month flagged where it misses the margin target."""
    out = simulation.as_dict()
    for row in out["by_unit_month"]:
        row["misses_target"] = row["margin"] is None or row["margin"] > simulation.margin_target
    return out


@router.post(
    "/simulations",
    response=SimulationOut,
    summary="Dry-run trigger rules over past events",
    description=(
        "Replays the events of the period through the active rules (and those named in "
        "`rule_ids`, even paused) with the real contact history: invitations per day, unit and "
        "channel, skips by reason, expected responses from the historical response rate, and the "
        "NPS margin of error per unit and month. Nothing is written or sent. Admins and analysts."
    ),
)
def simulation_run(request: HttpRequest, payload: SimulationIn) -> dict[str, Any]:
    simulation = simulate_rules(
        scope=scope_of(request),
        rule_ids=payload.rule_ids,
        date_from=payload.date_from,
        date_to=payload.date_to,
        margin_target=payload.margin_target,
    )
    return simulation_json(simulation)


@router.get(
    "/sample-size",
    response=SampleSizeOut,
    summary="Answers and invitations needed for an NPS margin of error",
    description=(
        "n = 1.96²·Var·100²/E² for a margin of E points at 95%, with Var from the survey's NPS "
        "history, the expected promoter and detractor shares, or the worst case (1); invitations "
        "= n / response rate; with a population, the finite-population correction."
    ),
)
def sample_size(request: HttpRequest, query: Query[SampleSizeQuery]) -> dict[str, Any]:
    return sample_size_plan(
        scope=scope_of(request),
        margin=query.margin,
        promoters=query.promoters,
        detractors=query.detractors,
        survey_id=query.survey_id,
        response_rate=query.response_rate,
        population=query.population,
    ).as_dict()


@router.get(
    "/response-rates",
    response=RatesOut,
    summary="Response rates of invitations, by survey, delivery, channel, unit or segment",
    description=(
        "Invitations created in the period and sent (skipped ones never are), with how many were "
        "delivered, opened, started and completed, and the rate completed / sent with its Wilson "
        "95% interval. A group below its program's minimum base gets `too_few` and no rate. "
        "Managers see their unit subtree."
    ),
)
def response_rate_list(request: HttpRequest, query: Query[RatesQuery]) -> dict[str, Any]:
    return response_rates(
        scope=scope_of(request),
        by=query.by,
        segment=query.segment,
        date_from=query.date_from,
        date_to=query.date_to,
        survey_id=query.survey_id,
    ).as_dict()


@router.get(
    "/non-responders",
    response=list[NonResponderOut],
    summary="Customers invited again and again who never answered",
    description=(
        "Customers sent at least `min_invitations` invitations created in the period who "
        "completed none and gave no complete response in it, most invited first. Readers of "
        "customers only."
    ),
)
@paginate(Page)
def non_responder_list(
    request: HttpRequest, query: Query[NonRespondersQuery]
) -> list[NonResponder]:
    return non_responders(
        scope=scope_of(request),
        date_from=query.date_from,
        date_to=query.date_to,
        min_invitations=query.min_invitations,
        segment=query.segment,
        segment_value=query.segment_value,
    )
