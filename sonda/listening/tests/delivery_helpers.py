"""Invitations with their message, ready for delivery tests, and a clock the tests control."""

import itertools
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sonda.customers.models import Customer
from sonda.listening.models import (
    Invitation,
    InvitationStatus,
    Message,
    MessageKind,
    MessageStatus,
    TriggerRule,
)
from sonda.listening.services import invitation_token
from sonda.listening.tests.listening_factories import TriggerRuleFactory, make_customer
from sonda.surveys.models import Survey
from sonda.surveys.tests.factories import make_published_survey

# Noon in Bucharest (UTC+2 in November): outside the default quiet hours (21:00-09:00).
NOON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
_phones = itertools.count(100000)


def published_survey(world: Any) -> Survey:
    return make_published_survey(world.scope(world.admin))


def invite(
    world: Any,
    *,
    survey: Survey | None = None,
    rule: TriggerRule | None = None,
    customer: Customer | None = None,
    channel: str = "email",
    language: str = "en",
    now: datetime = NOON,
    valid_for: timedelta = timedelta(days=14),
    status: str = InvitationStatus.CREATED,
    sent_at: datetime | None = None,
    message_status: str = MessageStatus.QUEUED,
    **customer_fields: Any,
) -> Message:
    """An invitation of a (new) customer and its queued invitation message, due at `now`."""
    survey = survey or (rule.survey if rule else None) or published_survey(world)
    rule = rule or TriggerRuleFactory(survey=survey)
    if customer is None:
        customer = make_customer(
            world.org,
            phone=f"+40722{next(_phones)}" if channel == "sms" else None,
            **customer_fields,
        )
    address = customer.identities.filter(kind="phone" if channel == "sms" else "email").first()
    assert address is not None
    invitation = Invitation.objects.create(
        organisation=world.org,
        survey=survey,
        token=invitation_token(),
        customer=customer,
        language=language,
        rule=rule,
        delivery=channel,
        send_at=now,
        sent_at=sent_at,
        status=status,
        expires_at=now + valid_for,
    )
    return Message.objects.create(
        organisation=world.org,
        invitation=invitation,
        kind=MessageKind.INVITATION,
        channel=channel,
        to_address=address.value,
        language=language,
        status=message_status,
        idempotency_key=secrets.token_hex(16),
        next_attempt_at=now,
        sent_at=sent_at,
    )


def fresh(message: Message) -> Message:
    message.refresh_from_db()
    message.invitation.refresh_from_db()
    return message


def customer_of(message: Message) -> Customer:
    customer = message.invitation.customer
    assert customer is not None
    return customer


def about(value: Any, expected: Any) -> bool:
    """Equal but for the seconds a run itself takes (times are recorded as the run goes on);
    both datetimes or both timedeltas."""
    return value is not None and abs(value - expected) < timedelta(seconds=5)
