"""API schemas of trigger rules, contact rules and quiet hours.

A rule reads and writes in the same shape, so that a client may GET a rule, change it and PATCH
it back. Conditions are checked by the service, which names the failing part
(`conditions[1].op`).
"""

from datetime import datetime, time
from typing import Any, ClassVar

from ninja import Field, Schema

from sonda.api.schemas import InputSchema, PatchSchema
from sonda.listening.conditions import OPS
from sonda.listening.models import ContactRuleKind, ContactScope, RuleStatus, Timing

CONDITIONS_HELP = (
    "All must hold. Each is {attribute, op, value}; ops: "
    + ", ".join(OPS)
    + ". A name starting `customer.` reads the customer's profile instead of the event."
)


class ConditionIO(Schema):
    attribute: str = Field(description="An attribute of the event (or `customer.<name>`).")
    op: str = Field(description=f"One of {', '.join(OPS)}.")
    value: Any = Field(
        None, description="A text, number or true/false; a list for `in` and `not_in`."
    )


class ConditionIn(InputSchema, ConditionIO):
    pass


def conditions_of(conditions: list[ConditionIn] | None) -> list[dict[str, Any]]:
    """The conditions as the service takes them: `value` only when it was sent (`exists` may
    leave it out and means true then)."""
    return [c.model_dump(exclude_unset=True) for c in conditions or []]


# Trigger rules ---------------------------------------------------------------------------------


class TriggerRuleOut(Schema):
    id: int
    name: str
    status: RuleStatus
    priority: int = Field(description="Rules are tried from the lowest priority number up.")
    survey_id: int
    survey_name: str
    survey_published: bool = Field(
        description="Whether the survey has a published version (a rule can only run then)."
    )
    event_types: list[str]
    channels: list[str]
    unit_id: int | None = Field(description="Events of this unit and the units below it.")
    touchpoints: list[str]
    conditions: list[ConditionIO]
    timing: Timing
    delay_minutes: int
    delivery_order: list[str]
    sampling_percent: float
    daily_quota_per_unit: int | None
    also_evaluate_others: bool
    valid_days: int
    reminder_after_days: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_survey_name(obj: Any) -> str:
        return str(obj.survey.name)

    @staticmethod
    def resolve_survey_published(obj: Any) -> bool:
        return bool(getattr(obj, "survey_published", False))

    @staticmethod
    def resolve_sampling_percent(obj: Any) -> float:
        return float(obj.sampling_percent)


class TriggerRuleCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    survey_id: int
    status: RuleStatus = Field(
        RuleStatus.PAUSED,
        description="paused (default) or active; active needs a published survey.",
    )
    priority: int = Field(100, description="0 to 1,000,000; lower is tried first.")
    event_types: list[str] = Field(default_factory=list, description="Empty: any event type.")
    channels: list[str] = Field(default_factory=list, description="Empty: any channel.")
    unit_id: int | None = Field(None, description="Empty: any unit.")
    touchpoints: list[str] = Field(default_factory=list, description="Empty: any touchpoint.")
    conditions: list[ConditionIn] = Field(default_factory=list, description=CONDITIONS_HELP)
    timing: Timing = Timing.IMMEDIATE
    delay_minutes: int = Field(0, description="Required above 0 when timing is `delay`.")
    delivery_order: list[str] = Field(
        default_factory=lambda: ["email", "sms", "link"],
        description="email, sms and link, each at most once: the first the customer can take.",
    )
    sampling_percent: float = Field(100, description="0 to 100: the share of customers invited.")
    daily_quota_per_unit: int | None = Field(None, description="At least 1; empty: no quota.")
    also_evaluate_others: bool = Field(
        False, description="When this rule invites, later rules are tried too."
    )
    valid_days: int = Field(14, description="1 to 90 days.")
    reminder_after_days: int | None = Field(
        None, description="Fewer days than valid_days; empty: no reminder."
    )


class TriggerRuleUpdateIn(PatchSchema):
    """Fields left out stay as they are. Status changes by /pause and /resume."""

    nullable: ClassVar[frozenset[str]] = frozenset(
        {"unit_id", "daily_quota_per_unit", "reminder_after_days"}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    survey_id: int | None = None
    priority: int | None = None
    event_types: list[str] | None = None
    channels: list[str] | None = None
    unit_id: int | None = Field(None, description="null: any unit.")
    touchpoints: list[str] | None = None
    conditions: list[ConditionIn] | None = Field(None, description=CONDITIONS_HELP)
    timing: Timing | None = None
    delay_minutes: int | None = None
    delivery_order: list[str] | None = None
    sampling_percent: float | None = None
    daily_quota_per_unit: int | None = Field(None, description="null: no quota.")
    also_evaluate_others: bool | None = None
    valid_days: int | None = None
    reminder_after_days: int | None = Field(None, description="null: no reminder.")


# Contact rules ---------------------------------------------------------------------------------


class ContactRuleOut(Schema):
    id: int
    name: str
    kind: ContactRuleKind
    scope: ContactScope
    program_id: int | None
    survey_id: int | None
    max_invitations: int | None
    window_days: int | None
    gap_days: int | None
    customer_conditions: list[ConditionIO]
    active: bool
    created_at: datetime
    updated_at: datetime


class ContactRuleCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    kind: ContactRuleKind = Field(
        description="max_in_window needs max_invitations and window_days; the gap kinds need "
        "gap_days."
    )
    scope: ContactScope = Field(
        ContactScope.ORGANISATION,
        description="organisation, program (with program_id) or survey (with survey_id).",
    )
    program_id: int | None = None
    survey_id: int | None = None
    max_invitations: int | None = None
    window_days: int | None = None
    gap_days: int | None = None
    customer_conditions: list[ConditionIn] = Field(
        default_factory=list, description="The customers the rule is about; empty: all."
    )
    active: bool = True


class ContactRuleUpdateIn(PatchSchema):
    """Fields left out stay as they are; a new kind or scope drops the old numbers or target."""

    nullable: ClassVar[frozenset[str]] = frozenset(
        {"program_id", "survey_id", "max_invitations", "window_days", "gap_days"}
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    kind: ContactRuleKind | None = None
    scope: ContactScope | None = None
    program_id: int | None = None
    survey_id: int | None = None
    max_invitations: int | None = None
    window_days: int | None = None
    gap_days: int | None = None
    customer_conditions: list[ConditionIn] | None = None
    active: bool | None = None


# Quiet hours -----------------------------------------------------------------------------------


class ListeningSettingsOut(Schema):
    time_zone: str = Field(description="The IANA time zone of customers without their own.")
    quiet_hours_start: time
    quiet_hours_end: time = Field(description="The same as the start: no quiet hours.")
    quiet_hours_for_email: bool = Field(description="SMS always waits for the morning.")


class ListeningSettingsIn(InputSchema):
    time_zone: str = Field(min_length=1, max_length=64)
    quiet_hours_start: time
    quiet_hours_end: time
    quiet_hours_for_email: bool = False
