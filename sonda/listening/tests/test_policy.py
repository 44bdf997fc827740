"""The contact policy: at most N invitations in a window, at least D days after the last
invitation or response, at organisation, program or survey scope, by customer attribute."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sonda.customers.models import Consent, Customer
from sonda.listening.decisions import decide_events
from sonda.listening.models import (
    ContactRule,
    ContactRuleKind,
    ContactScope,
    Event,
    Invitation,
    InvitationDecision,
    InvitationStatus,
    Message,
    TriggerRule,
)
from sonda.listening.services import invitation_create
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.models import Response, Survey
from sonda.surveys.tests.factories import make_program, make_published_survey

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Program:
    """Survey A and B in one program, C in another; a trigger rule per survey, each on its own
    event type (visit_a, visit_b, visit_c)."""

    a: Survey
    b: Survey
    c: Survey
    rules: dict[str, Any]


@pytest.fixture
def surveys(world) -> Program:
    scope = world.scope(world.analyst)
    branches = make_program(scope, name="Branches")
    claims = make_program(scope, name="Claims")
    a = make_published_survey(scope, program=branches, name="A")
    b = make_published_survey(scope, program=branches, name="B")
    c = make_published_survey(scope, program=claims, name="C")
    rules = {
        name: TriggerRuleFactory(survey=survey, event_types=[f"visit_{name}"])
        for name, survey in (("a", a), ("b", b), ("c", c))
    }
    return Program(a=a, b=b, c=c, rules=rules)


def visit(world, customer: Customer, at: datetime, survey: str = "a") -> Event:
    """An event of `customer` at `at` that the rule of survey `survey` invites for, decided."""
    happened = EventFactory(
        organisation=world.org,
        customer=customer,
        occurred_at=at,
        event_type=f"visit_{survey}",
        unit=world.north_branch,
    )
    decide_events(organisation_id=world.org.pk, event_ids=[happened.pk], now=at)
    return happened


def outcome(happened: Event) -> tuple[str, str, int | None]:
    decision = InvitationDecision.objects.get(event=happened)
    return decision.outcome, decision.reason, decision.contact_rule_id


def respond(customer: Customer, survey: Survey, at: datetime) -> Response:
    return Response.objects.create(
        organisation=customer.organisation,
        survey=survey,
        version=survey.versions.get(status="published"),
        customer=customer,
        language="ro",
        status="complete",
        started_at=at - timedelta(minutes=3),
        completed_at=at,
    )


# --- Each form × each scope -------------------------------------------------------------------

FORMS: dict[str, dict[str, Any]] = {
    "max_in_window": {
        "kind": ContactRuleKind.MAX_IN_WINDOW,
        "max_invitations": 1,
        "window_days": 30,
    },
    "gap_after_invitation": {
        "kind": ContactRuleKind.GAP_AFTER_INVITATION,
        "max_invitations": None,
        "window_days": None,
        "gap_days": 30,
    },
    "gap_after_response": {
        "kind": ContactRuleKind.GAP_AFTER_RESPONSE,
        "max_invitations": None,
        "window_days": None,
        "gap_days": 30,
    },
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("scope", "earlier_survey", "skipped"),
    [
        ("organisation", "a", True),
        ("organisation", "b", True),
        ("organisation", "c", True),
        ("program", "a", True),
        ("program", "b", True),
        ("program", "c", False),
        ("survey", "a", True),
        ("survey", "b", False),
        ("survey", "c", False),
    ],
)
def test_each_rule_form_counts_only_the_contacts_within_its_scope(
    world, surveys, form, scope, earlier_survey, skipped
):
    target: dict[str, Any] = {
        "organisation": {},
        "program": {"program": surveys.a.program},
        "survey": {"survey": surveys.a},
    }[scope]
    rule = ContactRuleFactory(organisation=world.org, scope=scope, **FORMS[form], **target)
    customer = make_customer(world.org)
    if form == "gap_after_response":
        respond(customer, getattr(surveys, earlier_survey), T0)
    else:
        visit(world, customer, T0, earlier_survey)

    happened = visit(world, customer, T0 + 10 * DAY, "a")

    expected = ("skipped", "contact_policy", rule.pk) if skipped else ("invited", "", None)
    assert outcome(happened) == expected


@pytest.mark.parametrize("form", FORMS)
def test_a_rule_scoped_to_another_program_does_not_hold_back_this_survey(world, surveys, form):
    ContactRuleFactory(
        organisation=world.org, scope=ContactScope.PROGRAM, program=surveys.c.program, **FORMS[form]
    )
    customer = make_customer(world.org)
    respond(customer, surveys.c, T0)
    visit(world, customer, T0, "c")
    assert outcome(visit(world, customer, T0 + DAY, "a"))[0] == "invited"


def test_at_most_two_in_thirty_days_lets_the_third_in_after_the_first_leaves_the_window(
    world, surveys
):
    rule = ContactRuleFactory(organisation=world.org, max_invitations=2, window_days=30)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    visit(world, customer, T0 + 10 * DAY)
    third = visit(world, customer, T0 + 20 * DAY)
    fourth = visit(world, customer, T0 + 31 * DAY)
    assert outcome(third) == ("skipped", "contact_policy", rule.pk)
    assert outcome(fourth) == ("invited", "", None)


# --- Window edges ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["max_in_window", "gap_after_invitation", "gap_after_response"])
def test_a_contact_exactly_d_days_ago_no_longer_counts_a_minute_less_still_does(
    world, surveys, form
):
    ContactRuleFactory(organisation=world.org, **FORMS[form])
    customer = make_customer(world.org)
    if form == "gap_after_response":
        respond(customer, surveys.a, T0)
    else:
        visit(world, customer, T0)
    assert outcome(visit(world, customer, T0 + 30 * DAY - timedelta(minutes=1)))[0] == "skipped"
    assert outcome(visit(world, customer, T0 + 30 * DAY))[0] == "invited"


def test_a_window_is_elapsed_time_even_across_the_customers_clock_change(world, surveys):
    """Bucharest moves to summer time on 29 March: 12:30 there on 9 April is 30 calendar days
    and half an hour after 12:00 on 10 March, but only 29 days 23½ hours have passed."""
    ContactRuleFactory(organisation=world.org, gap_after_invitation=True, gap_days=30)
    customer = make_customer(world.org, time_zone="Europe/Bucharest")
    visit(world, customer, T0)  # 12:00 in Bucharest
    half_past_noon = datetime(2026, 4, 9, 9, 30, tzinfo=UTC)  # 12:30 in Bucharest
    assert outcome(visit(world, customer, half_past_noon))[0] == "skipped"
    assert outcome(visit(world, customer, T0 + 30 * DAY))[0] == "invited"


def test_the_window_is_counted_on_the_events_time_not_when_it_is_posted(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    late = EventFactory(
        organisation=world.org, customer=customer, occurred_at=T0 + 40 * DAY, event_type="visit_a"
    )
    decide_events(organisation_id=world.org.pk, event_ids=[late.pk], now=T0 + 80 * DAY)
    assert outcome(late)[0] == "invited"


def test_an_event_posted_late_cannot_squeeze_in_between_two_counted_invitations(world, surveys):
    ContactRuleFactory(organisation=world.org, gap_after_invitation=True, gap_days=30)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    visit(world, customer, T0 + 60 * DAY)
    in_between = visit(world, customer, T0 + 45 * DAY)  # 45 days after one, 15 before the other
    assert outcome(in_between)[0] == "skipped"
    assert "15 days away" in InvitationDecision.objects.get(event=in_between).detail


# --- What counts --------------------------------------------------------------------------------


def test_reminders_do_not_count_as_invitations(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=2, window_days=30)
    customer = make_customer(world.org)
    first = visit(world, customer, T0)
    invitation = Invitation.objects.get(event=first)
    Message.objects.create(
        organisation=world.org,
        invitation=invitation,
        kind="reminder",
        channel="email",
        to_address="x@mail.example",
        idempotency_key="reminder-1",
        next_attempt_at=T0 + 3 * DAY,
        status="sent",
    )
    assert outcome(visit(world, customer, T0 + 5 * DAY))[0] == "invited"


def test_a_skipped_invitation_does_not_count(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    first = visit(world, customer, T0)
    Invitation.objects.filter(event=first).update(status=InvitationStatus.SKIPPED, skipped_at=T0)
    assert outcome(visit(world, customer, T0 + 5 * DAY))[0] == "invited"


@pytest.mark.parametrize(
    "status", [s for s in InvitationStatus.values if s != InvitationStatus.SKIPPED]
)
def test_every_invitation_that_asked_the_customer_counts_whatever_became_of_it(
    world, surveys, status
):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    first = visit(world, customer, T0)
    Invitation.objects.filter(event=first).update(status=status, completed_at=T0 + DAY)
    assert outcome(visit(world, customer, T0 + 5 * DAY))[0] == "skipped"


def test_an_invitation_made_by_hand_counts_from_when_it_was_made(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    by_hand = invitation_create(organisation=world.org, survey=surveys.b, customer_id=customer.pk)
    Invitation.objects.filter(pk=by_hand.pk).update(created_at=T0)
    assert outcome(visit(world, customer, T0 + 29 * DAY))[0] == "skipped"
    assert outcome(visit(world, customer, T0 + 31 * DAY))[0] == "invited"


def test_another_customers_invitations_do_not_count(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    visit(world, make_customer(world.org), T0)
    assert outcome(visit(world, make_customer(world.org), T0 + DAY))[0] == "invited"


def test_an_inactive_contact_rule_holds_nobody_back(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30, active=False)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    assert outcome(visit(world, customer, T0 + DAY))[0] == "invited"


# --- By customer attribute ------------------------------------------------------------------


def test_business_customers_are_asked_every_ninety_days_and_the_others_every_thirty(world, surveys):
    business_rule = ContactRuleFactory(
        organisation=world.org,
        name="Business: every 90 days",
        gap_after_invitation=True,
        gap_days=90,
        customer_conditions=[{"attribute": "segment", "op": "eq", "value": "business"}],
    )
    ContactRuleFactory(
        organisation=world.org,
        name="Others: every 30 days",
        gap_after_invitation=True,
        gap_days=30,
        customer_conditions=[{"attribute": "segment", "op": "ne", "value": "business"}],
    )
    business = make_customer(world.org, attributes={"segment": "business"})
    retail = make_customer(world.org, attributes={"segment": "retail"})
    unknown = make_customer(world.org)
    for customer in (business, retail, unknown):
        visit(world, customer, T0)

    assert outcome(visit(world, business, T0 + 45 * DAY)) == (
        "skipped",
        "contact_policy",
        business_rule.pk,
    )
    assert outcome(visit(world, retail, T0 + 45 * DAY))[0] == "invited"
    assert outcome(visit(world, unknown, T0 + 20 * DAY))[0] == "skipped"
    assert outcome(visit(world, business, T0 + 90 * DAY))[0] == "invited"


# --- What always wins -------------------------------------------------------------------------


def test_do_not_contact_wins_over_everything_even_a_customer_the_policy_would_allow(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    Customer.objects.filter(pk=customer.pk).update(do_not_contact=True)
    assert outcome(visit(world, customer, T0 + DAY))[1] == "do_not_contact"
    assert outcome(visit(world, customer, T0 + 100 * DAY))[1] == "do_not_contact"


def test_an_opt_out_of_email_wins_even_when_the_policy_allows(world, surveys):
    ContactRuleFactory(organisation=world.org, max_invitations=5, window_days=30)
    TriggerRule.objects.filter(pk=surveys.rules["a"].pk).update(delivery_order=["email", "sms"])
    customer = make_customer(world.org)
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="email", granted=False
    )
    assert outcome(visit(world, customer, T0))[1] == "no_consent"
    assert not Invitation.objects.exists()


def test_the_first_rule_that_objects_is_the_one_recorded(world, surveys):
    first = ContactRule.objects.create(
        organisation=world.org,
        name="Monthly",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    ContactRuleFactory(organisation=world.org, gap_after_invitation=True, gap_days=30)
    customer = make_customer(world.org)
    visit(world, customer, T0)
    assert outcome(visit(world, customer, T0 + DAY)) == ("skipped", "contact_policy", first.pk)
