"""API schemas of webhook endpoints and deliveries."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja import Field, Schema

from sonda.api.schemas import InputSchema, PatchSchema
from sonda.webhooks.models import (
    CASE_EVENT_TYPES,
    DEFAULT_PREVIOUS_VALID_HOURS,
    MAX_PREVIOUS_VALID_HOURS,
    DeliveryStatus,
)

EVENT_TYPES_HELP = "The event types sent to the endpoint: " + "; ".join(
    f"`{name}`: {text.rstrip('.')}" for name, text in CASE_EVENT_TYPES.items()
)
URL_HELP = (
    "Where events are POSTed: an https address (plain http only to a loopback address while "
    "Sonda runs in development). Redirects are not followed."
)


class WebhookEndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str] = Field(description=EVENT_TYPES_HELP)
    active: bool
    previous_secret_expires_at: datetime | None = Field(
        description=(
            "After the secret was rotated: until when the previous secret still signs deliveries "
            "beside the current one. Null when no previous secret signs."
        )
    )
    created_by: str | None = Field(description="The email of the admin who registered it.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.email if obj.created_by is not None else None

    @staticmethod
    def resolve_previous_secret_expires_at(obj: Any) -> datetime | None:
        # An overlap that has run out is shown as none: the previous secret no longer signs.
        expires: datetime | None = obj.previous_secret_expires_at
        return expires if expires is not None and expires > timezone.now() else None


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(
        description=(
            "Signs every delivery (see docs/webhooks.md). Shown in this answer only: store it "
            "now, it cannot be read again."
        )
    )


class WebhookSecretRotatedOut(WebhookEndpointOut):
    secret: str = Field(
        description=(
            "The new secret, which signs every delivery from now on. Shown in this answer only: "
            "store it now, it cannot be read again."
        )
    )


class WebhookSecretRotateIn(InputSchema):
    previous_valid_hours: int = Field(
        DEFAULT_PREVIOUS_VALID_HOURS,
        ge=0,
        le=MAX_PREVIOUS_VALID_HOURS,
        # A JSON number: neither "24" nor true (which lax parsing would read as 1 hour).
        strict=True,
        description=(
            "How many hours the secret being replaced keeps signing deliveries beside the new "
            "one, so the receiver can switch without refusing any: from 0 (it stops at once) to "
            f"{MAX_PREVIOUS_VALID_HOURS} (a week)."
        ),
    )


class WebhookEndpointCreateIn(InputSchema):
    url: str = Field(description=URL_HELP)
    event_types: list[str] = Field(description=EVENT_TYPES_HELP)
    description: str = ""
    active: bool = True


class WebhookEndpointUpdateIn(PatchSchema):
    url: str | None = Field(None, description=URL_HELP)
    event_types: list[str] | None = Field(None, description=EVENT_TYPES_HELP)
    description: str | None = None
    active: bool | None = None


class WebhookDeliveryOut(Schema):
    id: int = Field(description="Sent as the `Sonda-Delivery` header.")
    event_id: str = Field(description="The body's `id`: the same for every endpoint.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(
        description="When it is tried next, while it is queued."
    )
    last_status_code: int | None = Field(description="The receiver's last HTTP status.")
    last_error: str
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="The body's `data`.")

    @staticmethod
    def resolve_next_attempt_at(obj: Any) -> datetime | None:
        return obj.next_attempt_at if obj.status == DeliveryStatus.QUEUED else None
