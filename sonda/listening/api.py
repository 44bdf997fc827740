"""Invitations over the API: integrators ask for a customer's personal survey link."""

from datetime import timedelta

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.listening.invitations import invitation_get, invitation_issue
from sonda.listening.models import Invitation
from sonda.listening.schemas import InvitationCreateIn, InvitationOut

router = Router(tags=["invitations"])


@router.post(
    "",
    response={200: InvitationOut, 201: InvitationOut},
    summary="Invite a customer to a survey (201; 200 for a repeated external_ref)",
)
def invitation_create(request: HttpRequest, payload: InvitationCreateIn) -> Status[Invitation]:
    invitation, created = invitation_issue(
        scope=scope_of(request),
        survey_id=payload.survey_id,
        customer_id=payload.customer_id,
        identity=payload.customer.key(at="customer") if payload.customer else None,
        language=payload.language,
        unit_id=payload.unit_id,
        employee_id=payload.employee_id,
        touchpoint=payload.touchpoint,
        channel=payload.channel,
        journey=payload.journey,
        stage=payload.stage,
        external_ref=payload.external_ref,
        valid_for=timedelta(days=payload.valid_days),
    )
    return Status(201 if created else 200, invitation)


@router.get("/{invitation_id}", response=InvitationOut, summary="Get an invitation")
def invitation_read(request: HttpRequest, invitation_id: int) -> Invitation:
    return invitation_get(scope=scope_of(request), invitation_id=invitation_id)
