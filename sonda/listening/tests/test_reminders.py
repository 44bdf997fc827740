"""Reminders: one per invitation whose rule asks for it, once its days have passed without an
answer; never before, never twice, never for an answered or closed invitation."""

from datetime import timedelta

import pytest

from sonda.listening.delivery import messages_deliver_due, reminders_queue
from sonda.listening.models import (
    Invitation,
    InvitationStatus,
    Message,
    MessageKind,
    MessageStatus,
)
from sonda.listening.tests.delivery_helpers import NOON, fresh, invite, published_survey
from sonda.listening.tests.listening_factories import TriggerRuleFactory

SENT = NOON - timedelta(days=10)


@pytest.fixture
def rule(world):
    return TriggerRuleFactory(survey=published_survey(world), reminder_after_days=3)


def sent(world, rule, *, channel="email", status=InvitationStatus.SENT, **fields):
    return invite(
        world,
        rule=rule,
        channel=channel,
        now=SENT,
        valid_for=timedelta(days=14),
        status=status,
        sent_at=SENT,
        message_status=MessageStatus.SENT,
        **fields,
    )


def reminders() -> list[Message]:
    return list(Message.objects.filter(kind=MessageKind.REMINDER))


def test_a_reminder_is_queued_once_the_rules_days_have_passed_and_only_once(world, rule):
    message = sent(world, rule, language="ro")

    assert reminders_queue(now=SENT + timedelta(days=3) - timedelta(minutes=1)) == 0
    assert reminders_queue(now=SENT + timedelta(days=3)) == 1
    assert reminders_queue(now=SENT + timedelta(days=4)) == 0

    [reminder] = reminders()
    assert reminder.invitation_id == message.invitation_id
    assert (reminder.channel, reminder.to_address) == ("email", message.to_address)
    assert reminder.language == "ro"
    assert reminder.status == MessageStatus.QUEUED
    assert reminder.idempotency_key != message.idempotency_key


def test_a_delivered_sms_invitation_gets_an_sms_reminder(world, rule):
    message = sent(world, rule, channel="sms", status=InvitationStatus.DELIVERED)

    reminders_queue(now=NOON)

    [reminder] = reminders()
    assert (reminder.channel, reminder.to_address) == ("sms", message.to_address)


@pytest.mark.parametrize(
    "status",
    [
        InvitationStatus.COMPLETED,
        InvitationStatus.EXPIRED,
        InvitationStatus.FAILED,
        InvitationStatus.SKIPPED,
        InvitationStatus.CREATED,
    ],
)
def test_no_reminder_for_an_invitation_answered_closed_or_never_sent(world, rule, status):
    message = sent(world, rule)
    Invitation.objects.filter(pk=message.invitation_id).update(status=status, completed_at=NOON)

    assert reminders_queue(now=NOON) == 0


def test_no_reminder_when_the_rule_asks_for_none(world):
    sent(world, TriggerRuleFactory(survey=published_survey(world), reminder_after_days=None))

    assert reminders_queue(now=NOON) == 0


def test_no_reminder_for_a_link_that_has_run_out(world, rule):
    message = sent(world, rule)
    Invitation.objects.filter(pk=message.invitation_id).update(expires_at=NOON)

    assert reminders_queue(now=NOON) == 0


def test_no_reminder_for_a_link_handed_to_the_caller(world, rule):
    message = sent(world, rule)
    Invitation.objects.filter(pk=message.invitation_id).update(delivery="link")

    assert reminders_queue(now=NOON) == 0


def test_the_reminder_email_goes_out_without_touching_the_invitation_or_its_count(
    world, rule, mailbox
):
    message = sent(world, rule, language="en")
    reminders_queue(now=NOON)

    assert messages_deliver_due(now=NOON) == 1

    [mail] = mailbox.messages
    assert "a minute for your opinion?" in mail["Subject"]
    [reminder] = reminders()
    assert reminder.status == MessageStatus.SENT
    invitation = fresh(message).invitation
    assert (invitation.status, invitation.sent_at) == (InvitationStatus.SENT, SENT)
    # The contact policy counts invitations; a reminder adds none.
    assert Invitation.objects.filter(customer=invitation.customer).count() == 1


def test_a_reminder_for_an_invitation_answered_meanwhile_is_not_sent(world, rule, mailbox):
    message = sent(world, rule)
    reminders_queue(now=NOON)
    Invitation.objects.filter(pk=message.invitation_id).update(
        status=InvitationStatus.COMPLETED, completed_at=NOON
    )

    assert messages_deliver_due(now=NOON) == 0

    [reminder] = reminders()
    assert reminder.status == MessageStatus.CANCELLED
    assert mailbox.messages == []
