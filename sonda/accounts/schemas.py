"""API schemas for the caller, API tokens, members and the audit log."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AwareDatetime, field_validator
from pydantic_core import PydanticCustomError

from sonda.accounts.models import AuditEvent, Role
from sonda.api.schemas import InputSchema


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    language: str


class OrganisationOut(Schema):
    id: int
    name: str
    slug: str


class MeOut(Schema):
    user: UserOut
    organisation: OrganisationOut
    role: Role
    unit_id: int | None = Field(description="For managers: the root of the subtree they see.")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The start of the secret, to recognise the token by.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="Shown this once: only its hash is stored.")


class TokenCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(
        None, description="With a time zone, e.g. `2030-01-31T00:00:00Z`; leave out: no expiry."
    )

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= timezone.now():
            raise PydanticCustomError("past", "must be in the future")
        return value


class MemberOut(Schema):
    id: int
    user: UserOut
    role: Role
    unit_id: int | None
    created_at: datetime


class MemberRoleIn(InputSchema):
    role: Role
    unit_id: int | None = Field(None, description="For managers: the unit whose subtree they see.")


class AuditEventOut(Schema):
    id: int
    action: str
    actor_email: str | None
    target_type: str
    target_id: str
    detail: dict[str, Any]
    ip_address: str | None
    at: datetime

    @staticmethod
    def resolve_actor_email(obj: AuditEvent) -> str | None:
        return obj.actor.email if obj.actor is not None else None
