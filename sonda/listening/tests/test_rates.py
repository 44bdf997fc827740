"""Response rates, the invitations list and non-responders, against figures computed here.

The rate is completed ÷ sent; its interval is the Wilson score interval, found here by solving
|p̂ − p| = 1.96·√(p(1 − p)/n) for p by bisection rather than by the closed form the code uses.
"""

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.customers.models import Customer
from sonda.listening.models import Invitation
from sonda.listening.rates import (
    InvitationFilters,
    invitation_list,
    non_responders,
    response_rates,
    wilson_interval,
)
from sonda.listening.services import invitation_create
from sonda.listening.tests.listening_factories import make_customer
from sonda.org.models import Unit
from sonda.surveys.models import Program, Survey
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.tests.factories import make_program, make_published_survey

JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


def invite(
    survey: Survey,
    *,
    sent: datetime | None,
    completed: bool = False,
    status: str | None = None,
    unit: Unit | None = None,
    customer: Customer | None = None,
    delivery: str = "email",
    channel: str = "branch",
    delivered: bool = False,
    opened: bool = False,
    started: bool = False,
    created: datetime | None = None,
) -> Invitation:
    """An invitation created (and sent, unless `sent` is None) at `sent`, moved along its life
    cycle as far as asked."""
    invitation = invitation_create(
        organisation=survey.organisation,
        survey=survey,
        customer_id=customer.pk if customer else None,
        unit_id=unit.pk if unit else None,
        channel=channel,
    )
    at = sent or created or datetime(2026, 1, 15, tzinfo=UTC)
    changes: dict[str, Any] = {"created_at": created or at, "sent_at": sent, "delivery": delivery}
    if delivered:
        changes["delivered_at"] = at + timedelta(minutes=1)
    if opened:
        changes["opened_at"] = at + timedelta(hours=1)
    if started:
        changes["started_at"] = at + timedelta(hours=2)
    if completed:
        changes["completed_at"] = at + timedelta(hours=3)
    changes["status"] = status or (
        "completed"
        if completed
        else "started"
        if started
        else "opened"
        if opened
        else "delivered"
        if delivered
        else "sent"
        if sent
        else "created"
    )
    Invitation.objects.filter(pk=invitation.pk).update(**changes)
    invitation.refresh_from_db()
    return invitation


def wilson_by_bisection(successes: int, n: int) -> tuple[float, float]:
    p_hat = successes / n

    def outside(p: float) -> bool:
        return abs(p_hat - p) > 1.96 * math.sqrt(p * (1 - p) / n)

    def edge(inside: float, out: float) -> float:
        for _ in range(200):
            middle = (inside + out) / 2
            if outside(middle):
                out = middle
            else:
                inside = middle
        return (inside + out) / 2

    return edge(p_hat, 0.0), edge(p_hat, 1.0)


@pytest.mark.parametrize(("successes", "n"), [(10, 40), (0, 30), (30, 30), (7, 123), (1, 2)])
def test_the_wilson_interval_matches_the_score_test_solved_numerically(successes, n):
    low, high = wilson_interval(successes=successes, n=n) or (None, None)
    expected_low, expected_high = wilson_by_bisection(successes, n)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)


@pytest.fixture
def survey(world) -> Survey:
    return make_published_survey(world.scope(world.analyst))


def rates(world, user=None, **kwargs):
    return response_rates(
        scope=world.scope(user or world.analyst),
        date_from=JANUARY[0],
        date_to=JANUARY[1],
        **kwargs,
    )


def test_the_funnel_counts_each_stage_reached_or_passed_and_leaves_out_unsent_ones(world, survey):
    at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    for _ in range(30):
        invite(survey, sent=at)  # sent only
    invite(survey, sent=at, delivered=True)
    invite(survey, sent=at, opened=True)  # a link opened: delivered though not recorded
    invite(survey, sent=at, started=True)
    invite(survey, sent=at, completed=True)  # completed without an opening recorded
    invite(survey, sent=at, completed=True, opened=True, started=True, delivered=True)
    invite(survey, sent=None, status="skipped")
    invite(survey, sent=None, status="created")
    invite(survey, sent=at, status="failed")  # left, then bounced: sent, never delivered

    (row,) = rates(world).rows

    sent = 30 + 5 + 1
    assert (row.sent, row.delivered, row.opened, row.started, row.completed) == (
        sent,
        5,
        4,
        3,
        2,
    )
    assert row.rate == round(2 / sent, 6)
    low, high = wilson_by_bisection(2, sent)
    assert (row.rate_low, row.rate_high) == (round(low, 6), round(high, 6))
    assert (row.too_few, row.minimum_base) == (False, 30)


def test_a_group_under_its_programs_minimum_base_shows_no_rate(world, survey):
    other_program = make_program(world.scope(world.analyst), name="Small base")
    Program.objects.filter(pk=other_program.pk).update(minimum_base=5)
    small = make_published_survey(world.scope(world.analyst), program=other_program, name="Claims")
    at = datetime(2026, 1, 10, tzinfo=UTC)
    for n in range(29):
        invite(survey, sent=at, completed=n < 9)
    for n in range(5):
        invite(small, sent=at, completed=n < 2)

    result = rates(world, by="survey")

    by_name = {row.label: row for row in result.rows}
    branch, claims = by_name["After a branch visit"], by_name["Claims"]
    assert (branch.sent, branch.too_few, branch.rate, branch.rate_low) == (29, True, None, None)
    assert (claims.sent, claims.too_few, claims.minimum_base, claims.rate) == (5, False, 5, 0.4)
    # All together the strictest base (30) applies: 34 invitations are enough.
    assert (result.total.sent, result.total.minimum_base, result.total.rate) == (
        34,
        30,
        round(11 / 34, 6),
    )


def test_rates_by_delivery_channel_and_segment(world, survey):
    at = datetime(2026, 1, 10, tzinfo=UTC)
    gold = make_customer(world.org, attributes={"tier": "gold"})
    plain = make_customer(world.org, attributes={"tier": "basic"})
    for n in range(30):
        invite(survey, sent=at, completed=n < 6, delivery="sms", channel="call", customer=gold)
    for n in range(32):
        invite(survey, sent=at, completed=n < 16, delivery="email", customer=plain)
    invite(survey, sent=at, delivery="email")  # no customer: no segment

    by_delivery = {row.key: (row.sent, row.completed) for row in rates(world, by="delivery").rows}
    assert by_delivery == {"email": (33, 16), "sms": (30, 6)}
    by_channel = {row.key: (row.sent, row.completed) for row in rates(world, by="channel").rows}
    assert by_channel == {"branch": (33, 16), "call": (30, 6)}
    segments = rates(world, by="segment", segment="tier").rows
    assert [(row.label, row.sent, row.completed, row.too_few) for row in segments] == [
        ("basic", 32, 16, False),
        ("gold", 30, 6, False),
        ("—", 1, 0, True),
    ]
    assert segments[0].rate == 0.5


def test_the_period_is_the_day_the_invitation_was_made_in_the_organisations_time(world, survey):
    # Bucharest is UTC+2 in winter.
    invite(survey, sent=datetime(2026, 1, 31, 21, 0, tzinfo=UTC))  # 31 January, 23:00 there
    invite(survey, sent=datetime(2026, 1, 31, 22, 30, tzinfo=UTC))  # 1 February, 00:30: out
    invite(survey, sent=datetime(2025, 12, 31, 21, 30, tzinfo=UTC))  # 31 December, 23:30: out
    invite(survey, sent=datetime(2025, 12, 31, 22, 30, tzinfo=UTC))  # 1 January, 00:30

    assert rates(world).total.sent == 2


def test_managers_see_the_rates_of_their_subtree_and_frontline_none(world, survey):
    at = datetime(2026, 1, 10, tzinfo=UTC)
    invite(survey, sent=at, unit=world.north_branch)
    invite(survey, sent=at, unit=world.south_branch)
    invite(survey, sent=at)  # no unit: only the whole organisation's readers see it

    assert rates(world, world.manager_north).total.sent == 1
    assert rates(world, world.executive).total.sent == 3
    with pytest.raises(PermissionDenied):
        rates(world, world.frontline)


def test_another_organisations_invitations_never_count(world, survey):
    stranger = make_published_survey(world.scope(world.outsider, world.other_org))
    invite(stranger, sent=datetime(2026, 1, 10, tzinfo=UTC))
    assert rates(world).total.sent == 0
    outsider = response_rates(
        scope=world.scope(world.outsider, world.other_org),
        date_from=JANUARY[0],
        date_to=JANUARY[1],
    )
    assert outsider.total.sent == 1


def test_rates_refuse_an_unknown_grouping_and_a_segment_without_its_key(world):
    with pytest.raises(ValidationFailed) as unknown:
        rates(world, by="weather")
    assert unknown.value.errors[0].field == "by"
    with pytest.raises(ValidationFailed) as missing:
        rates(world, by="segment")
    assert missing.value.errors[0].field == "segment"


# The invitations list --------------------------------------------------------------------------


def test_the_invitations_list_filters_by_status_survey_delivery_unit_and_day(world, survey):
    other = make_published_survey(world.scope(world.analyst), program=survey.program, name="Claims")
    at = datetime(2026, 1, 10, tzinfo=UTC)
    completed = invite(survey, sent=at, completed=True, unit=world.north_branch)
    sms = invite(survey, sent=at, delivery="sms", unit=world.south_branch)
    claims = invite(other, sent=at, unit=world.north)
    february = invite(survey, sent=datetime(2026, 2, 10, tzinfo=UTC))

    def ids(**filters):
        found = invitation_list(
            scope=world.scope(world.analyst), filters=InvitationFilters(**filters)
        )
        return [invitation.pk for invitation in found]

    assert ids() == [february.pk, claims.pk, sms.pk, completed.pk]
    assert ids(status="completed") == [completed.pk]
    assert ids(survey_id=other.pk) == [claims.pk]
    assert ids(delivery="sms") == [sms.pk]
    assert ids(unit_id=world.north.pk) == [claims.pk, completed.pk]
    assert ids(date_from=date(2026, 2, 1)) == [february.pk]
    assert ids(invitation_id=sms.pk) == [sms.pk]
    north = invitation_list(scope=world.scope(world.manager_north))
    assert [invitation.pk for invitation in north] == [claims.pk, completed.pk]
    with pytest.raises(PermissionDenied):
        invitation_list(scope=world.scope(world.frontline))


# Non-responders --------------------------------------------------------------------------------


def test_non_responders_are_customers_invited_often_who_completed_nothing(world, survey):
    silent = make_customer(world.org, full_name="Silent Ltd", attributes={"tier": "gold"})
    quieter = make_customer(world.org, full_name="Quiet SA", attributes={"tier": "basic"})
    answered_once = make_customer(world.org, full_name="Answered Ltd")
    answered_elsewhere = make_customer(world.org, full_name="Open link Ltd")
    for day in (2, 9, 16, 23):
        invite(survey, sent=datetime(2026, 1, day, tzinfo=UTC), customer=silent)
    for day in (5, 12, 19):
        invite(survey, sent=datetime(2026, 1, day, tzinfo=UTC), customer=quieter)
        invite(survey, sent=datetime(2026, 1, day, tzinfo=UTC), customer=answered_elsewhere)
    for day in (5, 12):
        invite(survey, sent=datetime(2026, 1, day, tzinfo=UTC), customer=answered_once)
    invite(survey, sent=datetime(2026, 1, 19, tzinfo=UTC), customer=answered_once, completed=True)
    # An answer through an open link in the period counts as answering.
    response_submit(
        survey=survey,
        context=ResponseContext(language="ro", customer_id=answered_elsewhere.pk),
        answers={"ltr": 9},
        completed_at=datetime(2026, 1, 20, tzinfo=UTC),
    )
    # Before the period silent answered; it does not make up for January.
    invite(survey, sent=datetime(2025, 12, 1, tzinfo=UTC), customer=silent, completed=True)

    found = non_responders(
        scope=world.scope(world.executive),
        date_from=JANUARY[0],
        date_to=JANUARY[1],
        min_invitations=3,
        segment="tier",
    )

    assert [(row.full_name, row.segment, row.invitations) for row in found] == [
        ("Silent Ltd", "gold", 4),
        ("Quiet SA", "basic", 3),
    ]
    assert found[0].last_invited_at == datetime(2026, 1, 23, tzinfo=UTC)
    gold_only = non_responders(
        scope=world.scope(world.executive),
        date_from=JANUARY[0],
        date_to=JANUARY[1],
        segment="tier",
        segment_value="gold",
    )
    assert [row.customer_id for row in gold_only] == [silent.pk]


def test_non_responders_are_for_the_readers_of_customers(world):
    for user in (world.manager_north, world.frontline):
        with pytest.raises(PermissionDenied):
            non_responders(scope=world.scope(user))
