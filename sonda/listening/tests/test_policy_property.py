"""Whatever the stream of events, no customer is ever asked more often than the policy allows.

Random events of a few customers over 120 days, posted in random order and random batches (so
some arrive late), decided by two trigger rules; then every customer's counted invitations are
checked against the window and the gap.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonda.accounts.models import Organisation
from sonda.customers.models import Customer
from sonda.listening.decisions import decide_events
from sonda.listening.models import Event, Invitation, InvitationStatus, TriggerRule
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.tests.factories import make_published_survey

START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTES_IN_120_DAYS = 120 * 24 * 60


@dataclass
class Stage:
    organisation: Organisation
    customers: list[Customer]
    first_rule: TriggerRule


@pytest.fixture
def stage(world) -> Stage:
    scope = world.scope(world.analyst)
    first = make_published_survey(scope, name="First")
    second = make_published_survey(scope, program=first.program, name="Second")
    first_rule = TriggerRuleFactory(
        survey=first, priority=1, event_types=["a", "ab"], delivery_order=["link"]
    )
    TriggerRuleFactory(survey=second, priority=2, event_types=["b", "ab"], delivery_order=["link"])
    customers = [make_customer(world.org) for _ in range(3)]
    return Stage(organisation=world.org, customers=customers, first_rule=first_rule)


events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which customer
        st.integers(min_value=0, max_value=MINUTES_IN_120_DAYS),  # when
        st.sampled_from(["a", "b", "ab"]),  # which rules it can trigger
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stream=events_strategy,
    max_invitations=st.integers(min_value=1, max_value=3),
    window_days=st.integers(min_value=1, max_value=60),
    gap_days=st.integers(min_value=0, max_value=20),
    also_evaluate_others=st.booleans(),
    order=st.randoms(use_true_random=False),
    batches=st.integers(min_value=1, max_value=6),
)
def test_no_customer_is_ever_asked_more_often_than_the_policy_allows(
    stage, stream, max_invitations, window_days, gap_days, also_evaluate_others, order, batches
):
    with transaction.atomic():
        TriggerRule.objects.filter(pk=stage.first_rule.pk).update(
            also_evaluate_others=also_evaluate_others
        )
        ContactRuleFactory(
            organisation=stage.organisation,
            max_invitations=max_invitations,
            window_days=window_days,
        )
        if gap_days:
            ContactRuleFactory(
                organisation=stage.organisation, gap_after_invitation=True, gap_days=gap_days
            )
        events = [
            EventFactory(
                organisation=stage.organisation,
                customer=stage.customers[who],
                occurred_at=START + timedelta(minutes=minutes),
                event_type=kind,
            )
            for who, minutes, kind in stream
        ]
        order.shuffle(events)
        size = -(-len(events) // batches)
        for start in range(0, len(events), size):
            chunk = events[start : start + size]
            decide_events(
                organisation_id=stage.organisation.pk,
                event_ids=[e.pk for e in chunk],
                now=START + timedelta(days=121),
            )

        # The first event decided always finds an empty history: a policy that asks nobody
        # would pass the checks below without meaning anything.
        assert Invitation.objects.exclude(status=InvitationStatus.SKIPPED).exists()
        for customer in stage.customers:
            times = sorted(
                Event.objects.get(pk=event_id).occurred_at
                for event_id in Invitation.objects.filter(customer=customer)
                .exclude(status=InvitationStatus.SKIPPED)
                .values_list("event_id", flat=True)
            )
            window = timedelta(days=window_days)
            for index, at in enumerate(times):
                inside = [t for t in times[: index + 1] if t > at - window]
                assert len(inside) <= max_invitations, (customer.pk, times)
            if gap_days:
                for earlier, later in pairwise(times):
                    assert later - earlier >= timedelta(days=gap_days), (customer.pk, times)
        transaction.set_rollback(True)
