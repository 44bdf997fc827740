"""API schemas of interaction events: what a sender gets back per item, and what a reader sees."""

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from sonda.listening.models import DecisionOutcome, Event, InvitationStatus, SkipReason


class EventIn(Schema):
    """One interaction, as posted (one object, a JSON array of them, or NDJSON lines)."""

    type: str = Field(max_length=64, description="call_completed, branch_visit, purchase, claim...")
    occurred_at: datetime = Field(description="ISO 8601 with its offset; at most a day ahead.")
    customer: dict[str, Any] | None = Field(
        None,
        description='One identity: {"email": ...}, {"phone": ...} or '
        '{"external": {"source": "crm", "id": ...}}; an unknown identity creates the customer.',
    )
    customer_id: int | None = Field(None, description="…or the customer by Sonda's id.")
    unit_id: int | None = None
    unit_code: str | None = Field(None, max_length=64, description="…or the unit by its code.")
    employee_id: int | None = None
    employee_email: str | None = Field(None, description="…or the employee by email.")
    channel: str = Field("", max_length=32)
    touchpoint: str = Field("", max_length=100)
    journey: str = Field("", max_length=100)
    stage: str = Field("", max_length=100)
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Named plain values (or lists of them), at most 8 KB."
    )
    idempotency_key: str | None = Field(
        None, max_length=200, description="Makes a retry harmless: the same key is one event."
    )
    source: str | None = Field(None, max_length=64, description="With source_id, instead of a key.")
    source_id: str | None = Field(None, max_length=200)


class ItemInvitationOut(Schema):
    id: int
    survey_id: int
    delivery: str = Field(description="email, sms or link")
    url: str | None = Field(description="The survey link, for `link` deliveries only.")


class ItemErrorOut(Schema):
    index: int
    field: str
    message: str


class ItemOut(Schema):
    index: int = Field(
        description="The item's position in the request, from 0 (NDJSON: among non-empty lines)."
    )
    status: str = Field(description="created, duplicate or invalid")
    event_id: int | None = Field(description="The stored event, or the one a duplicate matched.")
    invitations: list[ItemInvitationOut]
    errors: list[ItemErrorOut] = Field(default_factory=list)


class IngestOut(Schema):
    created: int
    duplicates: int
    invalid: int
    invitations: int
    items: list[ItemOut]


class EventOut(Schema):
    id: int
    type: str
    occurred_at: datetime
    customer_id: int | None
    unit_id: int | None
    employee_id: int | None
    channel: str
    touchpoint: str
    journey: str
    stage: str
    attributes: dict[str, Any]
    source: str
    source_id: str
    created_at: datetime

    @staticmethod
    def resolve_type(obj: Event | dict[str, Any]) -> str:
        # An event read with its decisions arrives as a dict that holds the type already.
        return str(obj["type"]) if isinstance(obj, dict) else obj.event_type


class DecisionOut(Schema):
    rule_id: int | None
    rule_name: str
    outcome: DecisionOutcome
    reason: SkipReason | None
    contact_rule_id: int | None
    contact_rule_name: str
    detail: str
    invitation_id: int | None
    invitation_status: InvitationStatus | None


class EventDetailOut(EventOut):
    decisions: list[DecisionOut]


class EventQuery(Schema):
    """Filters of the event list; all optional."""

    type: str = Field("", max_length=64)
    customer_id: int | None = None
    unit_id: int | None = Field(None, description="Events of this unit and the units below.")
    from_: datetime | None = Field(None, alias="from", description="Occurred at or after.")
    to: datetime | None = Field(None, description="Occurred before.")
