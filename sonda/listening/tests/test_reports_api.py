"""/listening: the dry run, the sample-size planner, response rates and non-responders over the API.

The dry run belongs to those who configure listening (admins and analysts); the figures are read
by the whole-organisation roles, response rates by managers too (their subtree); frontline
employees are refused. Another organisation's survey or rule is not found.
"""

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.listening.models import Event, Invitation, InvitationDecision, Message, RuleStatus
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.listening.tests.test_rates import invite
from sonda.surveys.tests.factories import make_published_survey

JANUARY_5 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

CONFIGURE = {
    "anonymous": 401,
    "outsider": 200,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 200,
    "admin": 200,
}
WHOLE_ORGANISATION = {**CONFIGURE, "executive": 200}
RATES = {**WHOLE_ORGANISATION, "manager_north": 200, "manager_south": 200}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def dry_run(world):
    """A paused rule, a monthly contact policy and four January visits to North 1 (one customer
    twice), with a 50% response rate and no NPS history."""
    survey = make_published_survey(world.scope(world.analyst))
    rule = TriggerRuleFactory(survey=survey, name="After a visit", status=RuleStatus.PAUSED)
    ContactRuleFactory(organisation=world.org, name="Once a month")
    for n in range(2):
        invite(survey, sent=datetime(2025, 6, 1, tzinfo=UTC), completed=n == 0)
    first, second, third = (make_customer(world.org) for _ in range(3))
    for customer, at in (
        (first, JANUARY_5),
        (second, JANUARY_5),
        (third, JANUARY_5 + timedelta(days=1)),
        (first, JANUARY_5 + timedelta(days=2)),
    ):
        EventFactory(
            organisation=world.org, customer=customer, occurred_at=at, unit=world.north_branch
        )
    return rule


def simulation_body(rule, **changes):
    return {
        "date_from": "2026-01-01",
        "date_to": "2026-01-31",
        "rule_ids": [rule.pk],
        "margin_target": 5,
        **changes,
    }


def counts():
    return (
        Event.objects.count(),
        Invitation.objects.count(),
        InvitationDecision.objects.count(),
        Message.objects.count(),
    )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_dry_run_rules(api, world, dry_run, who):
    body = simulation_body(dry_run)
    if who == "outsider":
        body["rule_ids"] = []
    response = api.as_(who).post("/listening/simulations", body)
    assert response.status_code == CONFIGURE[who]
    if response.status_code != 200:
        problem_fields(response)


def test_a_dry_run_answers_invitations_skips_expected_responses_and_margins(api, dry_run):
    before = counts()

    response = api.as_("analyst").post("/listening/simulations", simulation_body(dry_run))

    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["events"], result["invitations"], result["expected_responses"]) == (4, 3, 1.5)
    assert [
        (row["day"], row["unit_name"], row["channel"], row["invitations"])
        for row in result["by_day_unit_channel"]
    ] == [("2026-01-05", "North 1", "email", 2), ("2026-01-06", "North 1", "email", 1)]
    assert result["skips"] == {"contact_policy": 1}
    assert result["skips_by_contact_rule"] == {"Once a month": 1}
    (month,) = result["by_unit_month"]
    # Worst case without history: 1.96 · √(1 / 1.5) · 100 points, far wider than ±5.
    assert month["expected_responses"] == 1.5
    assert month["margin"] == round(1.96 * math.sqrt(1 / 1.5) * 100, 1)
    assert month["needed_responses"] == math.ceil(1.96**2 * 100**2 / 5**2)
    assert month["misses_target"] is True
    assert counts() == before
    dry_run.refresh_from_db()
    assert dry_run.status == RuleStatus.PAUSED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_to": "2025-12-31"}, "date_to"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"margin_target": 0}, "margin_target"),
        ({"rule_ids": [999999]}, "rule_ids"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_dry_run_request_names_the_field(api, dry_run, changes, field):
    response = api.as_("admin").post("/listening/simulations", simulation_body(dry_run, **changes))
    assert response.status_code == 422
    assert problem_fields(response) == [field]


def test_another_organisations_rule_is_not_known_to_the_dry_run(api, world, dry_run):
    response = api.as_("outsider").post("/listening/simulations", simulation_body(dry_run))
    assert response.status_code == 422
    assert problem_fields(response) == ["rule_ids"]
    assert str(dry_run.pk) in response.json()["detail"]


# The sample-size planner ------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_plan_sample_sizes(api, who):
    response = api.as_(who).get("/listening/sample-size", margin=5)
    assert response.status_code == WHOLE_ORGANISATION[who]
    if response.status_code == 200:
        assert response.json()["responses_needed"] == 1537  # the domain's worst case at ±5
    else:
        problem_fields(response)


def test_the_planner_answers_responses_and_invitations_for_a_mix_and_a_population(api):
    response = api.as_("executive").get(
        "/listening/sample-size",
        margin=4,
        promoters=0.5,
        detractors=0.2,
        response_rate=0.15,
        population=2000,
    )
    assert response.status_code == 200, response.content
    plan = response.json()
    variance = 0.5 + 0.2 - (0.5 - 0.2) ** 2
    n0 = 1.96**2 * variance * 100**2 / 4**2
    corrected = math.ceil(n0 * 2000 / (n0 + 2000 - 1))
    assert (plan["variance_source"], plan["variance"]) == ("mix", round(variance, 6))
    assert plan["responses_needed"] == math.ceil(n0)
    assert plan["responses_needed_in_population"] == corrected
    assert plan["invitations_needed"] == math.ceil(corrected / 0.15)


def test_another_organisations_survey_is_not_found_by_the_planner(api, world):
    stranger = make_published_survey(world.scope(world.outsider, world.other_org))
    response = api.as_("analyst").get("/listening/sample-size", survey_id=stranger.pk)
    assert response.status_code == 404
    problem_fields(response)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"margin": 0}, "margin"),
        ({"promoters": 0.5}, "detractors"),
        ({"promoters": 0.7, "detractors": 0.5}, "detractors"),
        ({"response_rate": 0}, "response_rate"),
        ({"population": 0}, "population"),
    ],
)
def test_a_bad_plan_names_the_field(api, query, field):
    response = api.as_("analyst").get("/listening/sample-size", **query)
    assert response.status_code == 422
    assert problem_fields(response) == [field]


# Response rates --------------------------------------------------------------------------------


@pytest.fixture
def rates_history(world):
    """North 1: 40 invitations sent, 10 completed; South 1: 5 sent, 5 completed; one skipped."""
    survey = make_published_survey(world.scope(world.analyst))
    sent = datetime(2026, 1, 10, tzinfo=UTC)
    for n in range(40):
        invite(survey, sent=sent, completed=n < 10, unit=world.north_branch)
    for _ in range(5):
        invite(survey, sent=sent, completed=True, unit=world.south_branch)
    invite(survey, sent=None, unit=world.north_branch, status="skipped")
    return survey


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_response_rates_and_managers_see_their_subtree(api, rates_history, who):
    response = api.as_(who).get(
        "/listening/response-rates", by="unit", date_from="2026-01-01", date_to="2026-01-31"
    )
    assert response.status_code == RATES[who]
    if response.status_code != 200:
        problem_fields(response)
        return
    rows = {row["label"]: row["sent"] for row in response.json()["rows"]}
    expected = {
        "outsider": {},
        "manager_north": {"North 1 (N1)": 40},
        "manager_south": {"South 1 (S1)": 5},
    }.get(who, {"North 1 (N1)": 40, "South 1 (S1)": 5})
    assert rows == expected


def test_response_rates_by_unit_give_the_rate_with_its_interval_or_say_too_few(api, rates_history):
    response = api.as_("analyst").get(
        "/listening/response-rates", by="unit", date_from="2026-01-01", date_to="2026-01-31"
    )
    north, south = response.json()["rows"]
    assert (north["sent"], north["completed"], north["too_few"], north["rate"]) == (
        40,
        10,
        False,
        0.25,
    )
    assert north["rate_low"] < 0.25 < north["rate_high"]
    assert (south["sent"], south["too_few"], south["rate"], south["rate_low"]) == (
        5,
        True,
        None,
        None,
    )
    assert response.json()["total"]["sent"] == 45


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "weather"}, "by"),
        ({"by": "segment"}, "segment"),
        ({"by": "segment", "segment": "tier; drop"}, "segment"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
    ],
)
def test_a_bad_rates_request_names_the_field(api, query, field):
    response = api.as_("analyst").get("/listening/response-rates", **query)
    assert response.status_code == 422
    assert problem_fields(response) == [field]


# Non-responders --------------------------------------------------------------------------------


@pytest.fixture
def silent_account(world):
    survey = make_published_survey(world.scope(world.analyst))
    account = make_customer(world.org, full_name="Acme Ltd", attributes={"tier": "gold"})
    for day in (3, 10, 17):
        invite(survey, sent=datetime(2026, 1, day, tzinfo=UTC), customer=account)
    return account


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_non_responders(api, silent_account, who):
    response = api.as_(who).get(
        "/listening/non-responders", date_from="2026-01-01", date_to="2026-01-31", segment="tier"
    )
    assert response.status_code == WHOLE_ORGANISATION[who]
    if who == "outsider":
        assert response.json() == {"count": 0, "items": []}
    elif response.status_code == 200:
        assert response.json() == {
            "count": 1,
            "items": [
                {
                    "customer_id": silent_account.pk,
                    "full_name": "Acme Ltd",
                    "segment": "gold",
                    "invitations": 3,
                    "last_invited_at": Invitation.objects.filter(customer=silent_account)
                    .latest("created_at")
                    .created_at.isoformat()
                    .replace("+00:00", "Z"),
                }
            ],
        }
    else:
        problem_fields(response)


def test_non_responders_with_fewer_invitations_than_asked_are_left_out(api, silent_account):
    response = api.as_("admin").get(
        "/listening/non-responders", date_from=str(date(2026, 1, 1)), min_invitations=4
    )
    assert response.json() == {"count": 0, "items": []}
