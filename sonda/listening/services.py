"""Writes for invitations. Trigger rules, contact policy and delivery build on these."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sonda.accounts.models import Organisation
from sonda.core.errors import ValidationFailed
from sonda.listening.models import (
    DeliveryChannel,
    Invitation,
    InvitationStatus,
    Message,
    MessageKind,
)
from sonda.listening.tasks import wake_delivery
from sonda.surveys.models import Survey, VersionStatus

DEFAULT_VALIDITY = timedelta(days=14)


def invitation_token() -> str:
    """256 bits from the OS's random source, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def invitation_create(
    *,
    organisation: Organisation,
    survey: Survey,
    customer_id: int | None = None,
    language: str = "",
    unit_id: int | None = None,
    employee_id: int | None = None,
    touchpoint: str = "",
    channel: str = "",
    journey: str = "",
    stage: str = "",
    external_ref: str = "",
    valid_for: timedelta = DEFAULT_VALIDITY,
    now: datetime | None = None,
) -> Invitation:
    """A personal survey link carrying the interaction's context; expires after `valid_for`."""
    if survey.organisation_id != organisation.pk:
        raise ValidationFailed.on("survey_id", "no such survey")
    if not survey.versions.filter(status=VersionStatus.PUBLISHED).exists():
        raise ValidationFailed.on("survey_id", "the survey has no published version")
    if language and language not in survey.languages:
        raise ValidationFailed.on("language", "must be one of the survey's languages")
    created = now or timezone.now()
    return Invitation.objects.create(
        organisation=organisation,
        survey=survey,
        token=invitation_token(),
        customer_id=customer_id,
        language=language,
        unit_id=unit_id,
        employee_id=employee_id,
        touchpoint=touchpoint,
        channel=channel,
        journey=journey,
        stage=stage,
        external_ref=external_ref,
        expires_at=created + valid_for,
    )


def invitation_message_queue(
    *, invitation: Invitation, channel: str, to_address: str, send_at: datetime
) -> Message:
    """Queue the invitation's email or SMS for `send_at`, in the caller's transaction.

    The delivery job sends it like any other (`sonda.listening.delivery`), checking again just
    before sending that the customer may still be written to on the channel and that it is not
    their quiet hours; the job is woken once the caller commits.
    """
    if channel not in (DeliveryChannel.EMAIL, DeliveryChannel.SMS):
        raise ValidationFailed.on("channel", "email or sms")
    if not to_address:
        raise ValidationFailed.on("to_address", "an address to write to")
    invitation.delivery = channel
    invitation.send_at = send_at
    invitation.save(update_fields=["delivery", "send_at", "updated_at"])
    message = Message.objects.create(
        organisation_id=invitation.organisation_id,
        invitation=invitation,
        kind=MessageKind.INVITATION,
        channel=channel,
        to_address=to_address,
        language=invitation.language,
        idempotency_key=secrets.token_hex(16),
        next_attempt_at=send_at,
    )
    transaction.on_commit(wake_delivery)
    return message


def invitation_mark(
    *, invitation_id: int, status: InvitationStatus, now: datetime | None = None
) -> None:
    """Move an invitation forward (opened, started, completed); never backwards."""
    order = [
        InvitationStatus.CREATED,
        InvitationStatus.SENT,
        InvitationStatus.DELIVERED,
        InvitationStatus.OPENED,
        InvitationStatus.STARTED,
        InvitationStatus.COMPLETED,
    ]
    at = now or timezone.now()
    stamp = {
        InvitationStatus.OPENED: "opened_at",
        InvitationStatus.STARTED: "started_at",
        InvitationStatus.COMPLETED: "completed_at",
    }.get(status)
    changes: dict[str, Any] = {"status": status, "updated_at": timezone.now()}
    if stamp:
        changes[stamp] = Coalesce(F(stamp), Value(at))  # a moment once recorded stays
    # One conditional UPDATE, in whatever transaction the caller is in: the database locks the
    # row and checks the status again under the lock, so two requests cannot move it backwards
    # (a survey page marks every open and completion: a read, a lock and a savepoint fewer).
    Invitation.objects.filter(pk=invitation_id).exclude(
        status__in=order[order.index(status) :]
    ).update(**changes)
