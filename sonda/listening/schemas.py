"""API schemas of invitations."""

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Schema

from sonda.api.schemas import InputSchema
from sonda.customers.schemas import IdentityIn
from sonda.listening.models import Invitation, InvitationStatus


class InvitationCreateIn(InputSchema):
    survey_id: int = Field(description="A published survey.")
    customer_id: int | None = Field(None, description="The customer, by Sonda's id…")
    customer: IdentityIn | None = Field(
        None, description="…or by any identity; an unknown identity creates the customer."
    )
    language: str = Field(
        "", max_length=8, description="One of the survey's languages; empty: the customer's."
    )
    unit_id: int | None = None
    employee_id: int | None = Field(None, description="The person who served the customer.")
    touchpoint: str = Field("", max_length=100)
    channel: str = Field("", max_length=32, description="email, sms, link, in-app…")
    journey: str = Field("", max_length=100)
    stage: str = Field("", max_length=100)
    external_ref: str = Field(
        "",
        max_length=100,
        description="Your reference (e.g. the interaction's id): asking again with the same "
        "reference for the same survey answers the first invitation instead of making another.",
    )
    valid_days: int = Field(14, ge=1, le=90, description="Days until the link expires.")


class InvitationOut(Schema):
    id: int
    survey_id: int
    customer_id: int | None
    url: str = Field(description="The personal survey link to send to the customer.")
    language: str
    unit_id: int | None
    employee_id: int | None
    touchpoint: str
    channel: str
    journey: str
    stage: str
    status: InvitationStatus
    external_ref: str
    expires_at: datetime
    created_at: datetime

    @staticmethod
    def resolve_url(obj: Invitation, context: dict[str, object]) -> str:
        request = context["request"]
        assert isinstance(request, HttpRequest)
        return request.build_absolute_uri(reverse("respond:survey", kwargs={"token": obj.token}))
