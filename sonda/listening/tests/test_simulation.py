"""The dry run: a paused rule over January and February's events, on a small known history."""

import json
import math
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.customers.models import Customer
from sonda.listening.models import (
    Event,
    Invitation,
    InvitationDecision,
    Message,
    RuleStatus,
    TriggerRule,
)
from sonda.listening.services import invitation_create
from sonda.listening.simulation import nps_margin, simulate_rules
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.models import Response, Survey
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.tests.factories import make_published_survey

JANUARY_5 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NORTH_NPS_VARIANCE = 0.6875  # 10, 10, 5, 8: half promoters, a quarter detractors


def answered_nps(survey: Survey, unit, scores: list[int]) -> None:
    for score in scores:
        response_submit(
            survey=survey,
            context=ResponseContext(language="ro", unit_id=unit.pk),
            answers={"ltr": score},
            completed_at=datetime(2025, 6, 1, tzinfo=UTC),
        )


def sent_invitations(survey: Survey, *, sent: int, completed: int) -> None:
    for n in range(sent):
        invitation = invitation_create(organisation=survey.organisation, survey=survey)
        Invitation.objects.filter(pk=invitation.pk).update(
            sent_at=datetime(2025, 6, 1, tzinfo=UTC),
            status="completed" if n < completed else "sent",
            completed_at=datetime(2025, 6, 2, tzinfo=UTC) if n < completed else None,
        )


def visit(world, customer: Customer | None, at: datetime, unit=None) -> Event:
    return EventFactory(
        organisation=world.org, customer=customer, occurred_at=at, unit=unit or world.north_branch
    )


@pytest.fixture
def history(world):
    """A paused rule on a survey with a 25% response rate; North 1 has NPS history, South 1 none;
    a monthly contact policy; and the events of January and February."""
    survey = make_published_survey(world.scope(world.analyst))
    rule = TriggerRuleFactory(survey=survey, name="After a visit", status=RuleStatus.PAUSED)
    policy = ContactRuleFactory(organisation=world.org, name="Once a month")
    answered_nps(survey, world.north_branch, [10, 10, 5, 8])
    sent_invitations(survey, sent=4, completed=1)
    c1, c2, c3, c4, seen = (make_customer(world.org) for _ in range(5))
    # `seen` was really invited on 20 December: the dry run's history starts with it.
    december = visit(world, seen, datetime(2025, 12, 20, 10, 0, tzinfo=UTC))
    real = invitation_create(organisation=world.org, survey=survey, customer_id=seen.pk)
    Invitation.objects.filter(pk=real.pk).update(
        event=december, event_occurred_at=december.occurred_at
    )
    visit(world, c1, JANUARY_5)
    visit(world, c2, JANUARY_5 + timedelta(hours=2))
    visit(world, c3, JANUARY_5 + timedelta(days=1))
    visit(world, c1, datetime(2026, 1, 20, 10, 0, tzinfo=UTC))  # within the month: skipped
    visit(world, seen, JANUARY_5, unit=world.south_branch)  # 16 days after December's: skipped
    visit(world, None, JANUARY_5 + timedelta(days=2))  # nobody to invite
    visit(world, c4, datetime(2026, 2, 3, 10, 0, tzinfo=UTC), unit=world.south_branch)
    visit(world, c4, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))  # after the period
    stranger_survey = make_published_survey(world.scope(world.outsider, world.other_org))
    EventFactory(organisation=world.other_org, occurred_at=JANUARY_5)
    TriggerRuleFactory(survey=stranger_survey)
    return rule, policy, survey


def simulate(world, rule_ids, user=None, **dates):
    return simulate_rules(
        scope=world.scope(user or world.analyst),
        rule_ids=rule_ids,
        date_from=dates.get("date_from", date(2026, 1, 1)),
        date_to=dates.get("date_to", date(2026, 2, 28)),
    )


def counts() -> tuple[int, int, int, int, int]:
    return (
        Event.objects.count(),
        Invitation.objects.count(),
        InvitationDecision.objects.count(),
        Message.objects.count(),
        Response.objects.count(),
    )


def test_a_paused_rule_is_simulated_over_the_period_with_the_real_history_before_it(world, history):
    rule = history[0]

    result = simulate(world, [rule.pk])

    assert result.events == 7
    assert result.invitations == 4
    assert [(r.day, r.unit_name, r.channel, r.invitations) for r in result.by_day_unit_channel] == [
        (date(2026, 1, 5), "North 1", "email", 2),
        (date(2026, 1, 6), "North 1", "email", 1),
        (date(2026, 2, 3), "South 1", "email", 1),
    ]
    assert result.by_channel == {"email": 4}
    assert result.skips == {"contact_policy": 2, "no_customer": 1}
    assert result.skips_by_contact_rule == {"Once a month": 2}
    (outcome,) = result.rules
    assert (outcome.rule_id, outcome.status, outcome.invitations) == (rule.pk, "paused", 4)
    assert outcome.skips == {"contact_policy": 2, "no_customer": 1}
    assert any("Simulated as if switched on: After a visit" in note for note in result.notes)


def test_expected_responses_use_the_surveys_response_rate_and_say_so(world, history):
    rule, _policy, survey = history
    result = simulate(world, [rule.pk])
    (rate,) = result.response_rates
    assert (rate.survey_id, rate.rate, rate.source, rate.sent, rate.completed) == (
        survey.pk,
        0.25,
        "survey",
        4,
        1,
    )
    assert result.expected_responses == 1.0


def test_the_margin_per_unit_and_month_uses_the_units_nps_variance_or_the_worst_case(
    world, history
):
    rule, _policy, _survey = history
    result = simulate(world, [rule.pk])

    north, south = result.by_unit_month
    assert (north.month, north.unit_name, north.invitations) == ("2026-01", "North 1", 3)
    assert north.expected_responses == 0.75  # 3 × 25%
    assert (north.variance, north.variance_source, north.history_answers) == (
        NORTH_NPS_VARIANCE,
        "history",
        4,
    )
    assert north.margin == round(1.96 * math.sqrt(NORTH_NPS_VARIANCE / 0.75) * 100, 1)
    assert (south.month, south.unit_name, south.invitations) == ("2026-02", "South 1", 1)
    assert (south.variance, south.variance_source) == (1.0, "worst_case")
    assert south.margin == round(1.96 * math.sqrt(1 / 0.25) * 100, 1)
    # ±5 points: 1.96² · Var · 100² / 5², worst case about 1,537 answers.
    assert (north.needed_responses, south.needed_responses) == (1057, 1537)
    assert any("worst case" in note for note in result.notes)


def test_the_margin_formula_matches_the_required_sample_of_the_domain():
    # ±5 points in the worst case needs about 1,537 answers.
    margin = nps_margin(variance=1.0, n=1537)
    assert margin is not None
    assert round(margin, 2) == 5.0
    assert nps_margin(variance=1.0, n=0) is None


def test_a_dry_run_writes_nothing(world, history):
    rule, _policy, _survey = history
    before = counts()
    simulate(world, [rule.pk])
    assert counts() == before
    assert TriggerRule.objects.get(pk=rule.pk).status == "paused"


def test_the_organisations_response_rate_stands_in_for_a_survey_without_history(world, history):
    _rule, _policy, survey = history
    fresh = make_published_survey(world.scope(world.analyst), program=survey.program, name="Fresh")
    rule = TriggerRuleFactory(survey=fresh, status=RuleStatus.PAUSED)
    result = simulate(world, [rule.pk])
    (rate,) = result.response_rates
    assert (rate.rate, rate.source) == (0.25, "organisation")
    assert any("has no response history" in note for note in result.notes)


def test_a_rule_whose_survey_has_no_published_version_is_reported_as_left_out(world, history):
    rule, _policy, survey = history
    survey.versions.update(status="retired")
    result = simulate(world, [rule.pk])
    assert result.invitations == 0
    (outcome,) = result.rules
    assert outcome.left_out == "its survey has no published version"
    assert any("is left out" in note for note in result.notes)


def test_without_named_rules_the_active_rules_are_simulated(world, history):
    rule, _policy, _survey = history
    assert simulate(world, []).invitations == 0
    TriggerRule.objects.filter(pk=rule.pk).update(status=RuleStatus.ACTIVE)
    assert simulate(world, []).invitations == 4


@pytest.mark.parametrize("who", ["manager_north", "executive", "frontline"])
def test_only_those_who_configure_may_run_a_dry_run(world, history, who):
    rule, _policy, _survey = history
    with pytest.raises(PermissionDenied):
        simulate(world, [rule.pk], user=getattr(world, who))


def test_a_rule_of_another_organisation_is_not_found(world, history):
    stranger = TriggerRule.objects.get(organisation=world.other_org)
    with pytest.raises(ValidationFailed) as refused:
        simulate(world, [stranger.pk])
    assert refused.value.errors[0].field == "rule_ids"


def test_a_period_ending_before_it_starts_is_refused(world, history):
    with pytest.raises(ValidationFailed) as refused:
        simulate(world, [], date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))
    assert refused.value.errors[0].field == "date_to"


# --- The command ------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("rules_simulate", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_tables_per_unit_and_month_and_the_skip_reasons(world, history):
    rule, _policy, _survey = history
    text = run(
        "--organisation",
        "banca",
        "--rule",
        str(rule.pk),
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-28",
    )
    assert "7 events, 4 invitations" in text
    assert "Per unit and month" in text
    north = next(line for line in text.splitlines() if line.startswith("2026-01"))
    assert north.split()[:3] == ["2026-01", "North", "1"]
    assert north.split()[-4:] == ["3", "0.75", "±187.7", "1057"]
    assert "The contact policy" in text
    assert "Once a month" in text
    assert "the survey's history" in text


def test_the_command_prints_json_on_request(world, history):
    rule, _policy, _survey = history
    text = run(
        "--organisation",
        "banca",
        "--rule",
        str(rule.pk),
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-28",
        "--json",
    )
    data = json.loads(text)
    assert data["invitations"] == 4
    assert data["skips"] == {"contact_policy": 2, "no_customer": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-02-28"], "--from: '2026-13-01' is not a date"),
        (["--from", "2026-01-01", "--to", "soon"], "--to: 'soon' is not a date"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "--to: must not be before --from"),
        (["--from", "2026-01-01", "--to", "2026-01-31", "--margin", "0"], "--margin: must be"),
        (["--from", "2026-01-01", "--to", "2026-02-28", "--rule", "999999"], "--rule: no trigger"),
        (
            ["--from", "2026-01-01", "--to", "2026-02-28", "--user", "north@banca.example"],
            "may not run trigger rules",
        ),
    ],
)
def test_the_command_refuses_bad_options_naming_them(world, history, args, message):
    with pytest.raises(CommandError) as refused:
        run("--organisation", "banca", *args)
    assert message in str(refused.value)
