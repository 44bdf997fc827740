"""Expiry: an open invitation whose link ran out becomes expired and sends nothing more."""

from datetime import timedelta

from sonda.listening.delivery import invitations_expire, messages_deliver_due
from sonda.listening.models import Invitation, InvitationStatus, MessageStatus
from sonda.listening.tests.delivery_helpers import NOON, fresh, invite, published_survey

LATER = NOON + timedelta(days=14)


def test_open_invitations_past_their_date_expire_and_their_queued_messages_are_cancelled(world):
    survey = published_survey(world)
    queued = invite(world, survey=survey)
    opened = invite(
        world,
        survey=survey,
        status=InvitationStatus.OPENED,
        sent_at=NOON,
        message_status=MessageStatus.SENT,
    )

    assert invitations_expire(now=LATER) == 2

    queued, opened = fresh(queued), fresh(opened)
    assert (queued.invitation.status, queued.invitation.expired_at) == (
        InvitationStatus.EXPIRED,
        LATER,
    )
    assert queued.status == MessageStatus.CANCELLED
    assert opened.invitation.status == InvitationStatus.EXPIRED
    assert opened.status == MessageStatus.SENT  # what was sent stays on record


def test_an_invitation_still_valid_is_left_alone(world):
    message = invite(world)

    assert invitations_expire(now=LATER - timedelta(seconds=1)) == 0
    assert fresh(message).invitation.status == InvitationStatus.CREATED


def test_answered_failed_and_skipped_invitations_keep_their_status(world):
    survey = published_survey(world)
    kept = {
        status: invite(world, survey=survey).invitation_id
        for status in (
            InvitationStatus.COMPLETED,
            InvitationStatus.FAILED,
            InvitationStatus.SKIPPED,
        )
    }
    for status, pk in kept.items():
        Invitation.objects.filter(pk=pk).update(status=status, completed_at=NOON)

    assert invitations_expire(now=LATER) == 0
    for status, pk in kept.items():
        assert Invitation.objects.get(pk=pk).status == status


def test_expiring_twice_changes_nothing_the_second_time(world):
    invite(world)

    assert invitations_expire(now=LATER) == 1
    assert invitations_expire(now=LATER + timedelta(days=1)) == 0


def test_a_message_due_after_its_link_ran_out_is_not_sent_even_before_the_expiry_job(
    world, mailbox
):
    message = invite(world, valid_for=timedelta(hours=1))

    assert messages_deliver_due(now=NOON + timedelta(hours=1)) == 0

    assert fresh(message).status == MessageStatus.CANCELLED
    assert mailbox.messages == []
