"""API schemas for customers, their identities, consents and merges."""

from datetime import datetime
from typing import Any, ClassVar

from ninja import Field, Schema

from sonda.api.schemas import InputSchema, PatchSchema
from sonda.core.errors import FieldError, ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.models import CustomerMerge, IdentityKind

REGION_PATTERN = r"^[A-Z]{2}$"


def _at(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class IdentityIn(InputSchema):
    kind: IdentityKind
    value: str = Field(
        min_length=1,
        max_length=254,
        description="An email, a phone (E.164, or national with `region`), or an external id.",
    )
    source: str = Field(
        "", max_length=40, description="The source system of an external id: `crm`, `billing`..."
    )
    region: str | None = Field(
        None,
        pattern=REGION_PATTERN,
        description="Country of a phone number written in national format, e.g. `RO`.",
    )

    def key(self, *, at: str = "") -> IdentityKey:
        """The identity in canonical form; errors name `value` or `source` below `at`."""
        return identity_key(
            kind=self.kind.value,
            value=self.value,
            source=self.source,
            region=self.region,
            at=at,
        )


def identity_key(
    *, kind: str, value: str, source: str = "", region: str | None = None, at: str = ""
) -> IdentityKey:
    """Normalise an identity sent by a client, naming the client's own field when it is wrong."""
    try:
        return identity_normalise(kind=kind, value=value, source=source, default_region=region)
    except ValidationFailed as exc:
        errors = [
            FieldError(
                _at(at, error.field if error.field in {"source", "kind"} else "value"),
                error.message,
            )
            for error in exc.errors
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationFailed(detail, errors=errors) from exc


class IdentityOut(Schema):
    id: int
    kind: IdentityKind
    source: str
    value: str


class ConsentOut(Schema):
    channel: str
    granted: bool
    source: str
    updated_at: datetime


class CustomerOut(Schema):
    id: int
    full_name: str
    preferred_language: str
    time_zone: str
    attributes: dict[str, Any]
    do_not_contact: bool
    merged_into_id: int | None = Field(
        description="Set when this profile was merged into another: that one stands for it now."
    )
    identities: list[IdentityOut]
    consents: list[ConsentOut]
    created_at: datetime
    updated_at: datetime


CONSENTS_DESCRIPTION = (
    "Consent per channel (`email`, `sms`, `phone`): true granted, false withdrawn."
)


class CustomerCreateIn(InputSchema):
    full_name: str = Field("", max_length=200)
    preferred_language: str = Field("", max_length=8, description="`en`, `ro`, `pl`...")
    time_zone: str = Field("", max_length=64)
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Segment attributes: tier, products, region..."
    )
    do_not_contact: bool = False
    identities: list[IdentityIn] = Field(default_factory=list, max_length=100)
    consents: dict[str, bool] = Field(default_factory=dict, description=CONSENTS_DESCRIPTION)

    def identity_keys(self) -> list[IdentityKey]:
        return [identity.key(at=f"identities[{i}]") for i, identity in enumerate(self.identities)]


class CustomerUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset()

    full_name: str | None = Field(None, max_length=200)
    preferred_language: str | None = Field(None, max_length=8)
    time_zone: str | None = Field(None, max_length=64)
    attributes: dict[str, Any] | None = Field(None, description="Replaces the attributes.")
    do_not_contact: bool | None = None
    consents: dict[str, bool] | None = Field(None, description=CONSENTS_DESCRIPTION)


class MergeIn(InputSchema):
    merged_id: int = Field(description="The duplicate profile, folded into this one.")
    reason: str = Field("", max_length=500)


class MergeOut(Schema):
    id: int
    surviving_id: int
    merged_id: int
    actor_email: str | None
    reason: str
    identities_moved: list[str]
    created_at: datetime

    @staticmethod
    def resolve_actor_email(obj: CustomerMerge) -> str | None:
        return obj.actor.email if obj.actor is not None else None
