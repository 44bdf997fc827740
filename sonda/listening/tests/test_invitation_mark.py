"""An invitation's life moves forward only: opened, started, completed, each moment kept."""

from datetime import UTC, datetime, timedelta

import pytest

from sonda.listening.models import Invitation, InvitationStatus
from sonda.listening.services import invitation_create, invitation_mark
from sonda.surveys.tests.factories import make_published_survey

SENT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def invitation(world):
    survey = make_published_survey(world.scope(world.analyst))
    return invitation_create(
        organisation=world.org, survey=survey, language="en", channel="email", now=SENT
    )


def mark(invitation, status, minutes):
    invitation_mark(
        invitation_id=invitation.pk, status=status, now=SENT + timedelta(minutes=minutes)
    )
    return Invitation.objects.get(pk=invitation.pk)


def test_each_step_forward_records_its_moment(invitation):
    mark(invitation, InvitationStatus.SENT, 0)
    mark(invitation, InvitationStatus.OPENED, 5)
    mark(invitation, InvitationStatus.STARTED, 6)
    done = mark(invitation, InvitationStatus.COMPLETED, 9)
    assert done.status == InvitationStatus.COMPLETED
    assert (done.opened_at, done.started_at, done.completed_at) == (
        SENT + timedelta(minutes=5),
        SENT + timedelta(minutes=6),
        SENT + timedelta(minutes=9),
    )


def test_a_step_back_or_the_same_step_again_changes_nothing(invitation):
    mark(invitation, InvitationStatus.OPENED, 5)
    mark(invitation, InvitationStatus.COMPLETED, 9)
    reopened = mark(invitation, InvitationStatus.OPENED, 30)
    again = mark(invitation, InvitationStatus.COMPLETED, 40)
    for seen in (reopened, again):
        assert seen.status == InvitationStatus.COMPLETED
        assert seen.opened_at == SENT + timedelta(minutes=5)
        assert seen.completed_at == SENT + timedelta(minutes=9)


def test_skipping_a_step_leaves_its_moment_empty(invitation):
    done = mark(invitation, InvitationStatus.COMPLETED, 9)
    assert (done.status, done.opened_at, done.completed_at) == (
        InvitationStatus.COMPLETED,
        None,
        SENT + timedelta(minutes=9),
    )


def test_an_expired_invitation_answered_late_is_completed(invitation):
    Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.EXPIRED)
    done = mark(invitation, InvitationStatus.COMPLETED, 60 * 24 * 15)
    assert done.status == InvitationStatus.COMPLETED
