"""Factories for listening: events, trigger rules and contact rules.

A trigger rule needs a published survey (`sonda.surveys.tests.factories.make_published_survey`);
pass it as `survey=`. Rules are active by default here, unlike the model's default (paused),
because most tests want a rule that works.
"""

from datetime import UTC, datetime
from typing import Any

import factory

from sonda.accounts.models import Organisation
from sonda.accounts.tests.factories import OrganisationFactory
from sonda.customers.models import Customer
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.listening.models import (
    ContactRule,
    ContactRuleKind,
    ContactScope,
    Event,
    RuleStatus,
    Timing,
    TriggerRule,
)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    organisation = factory.SubFactory(OrganisationFactory)
    event_type = "branch_visit"
    occurred_at = factory.LazyFunction(lambda: datetime.now(UTC))
    channel = "branch"
    touchpoint = "cash_desk"
    attributes = factory.LazyFunction(dict)
    source = "test"
    source_id = factory.Sequence(lambda n: f"evt-{n}")
    dedupe_key = factory.LazyAttribute(lambda o: f"src:{o.source}:{o.source_id}")


class TriggerRuleFactory(factory.django.DjangoModelFactory):
    """Give `survey=`; the organisation follows the survey's."""

    class Meta:
        model = TriggerRule

    organisation = factory.SelfAttribute("survey.organisation")
    name = factory.Sequence(lambda n: f"Rule {n}")
    status = RuleStatus.ACTIVE
    priority = 100
    event_types = factory.LazyFunction(list)
    channels = factory.LazyFunction(list)
    touchpoints = factory.LazyFunction(list)
    conditions = factory.LazyFunction(list)
    timing = Timing.IMMEDIATE
    delay_minutes = 0
    delivery_order = factory.LazyFunction(lambda: ["email", "sms", "link"])
    sampling_percent = 100
    daily_quota_per_unit = None
    also_evaluate_others = False
    valid_days = 14
    reminder_after_days = None


class ContactRuleFactory(factory.django.DjangoModelFactory):
    """By default "at most 1 invitation in 30 days" across the organisation."""

    class Meta:
        model = ContactRule

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Contact rule {n}")
    kind = ContactRuleKind.MAX_IN_WINDOW
    scope = ContactScope.ORGANISATION
    program = None
    survey = None
    max_invitations = 1
    window_days = 30
    gap_days = None
    customer_conditions = factory.LazyFunction(list)
    active = True

    class Params:
        gap_after_invitation = factory.Trait(
            kind=ContactRuleKind.GAP_AFTER_INVITATION, max_invitations=None, window_days=None
        )
        gap_after_response = factory.Trait(
            kind=ContactRuleKind.GAP_AFTER_RESPONSE, max_invitations=None, window_days=None
        )


def make_customer(
    organisation: Organisation,
    *,
    email: str | None = "",
    phone: str | None = None,
    **fields: Any,
) -> Customer:
    """A customer with an email address (generated unless given; None for none) and optionally a
    phone number (E.164)."""
    customer = CustomerFactory(organisation=organisation, **fields)
    if email is not None:
        CustomerIdentityFactory(
            customer=customer, kind="email", value=email or f"c{customer.pk}@mail.example"
        )
    if phone is not None:
        CustomerIdentityFactory(customer=customer, kind="phone", value=phone)
    return customer
