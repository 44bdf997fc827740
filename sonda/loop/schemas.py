"""API schemas of the closed loop: cases, the problem taxonomy, HQ functions and alert rules.

Cases are read with their customer by id only: the answers, root causes and timeline say what an
integrator needs, and a customer's profile is read (by those allowed) under /customers.
"""

from datetime import date, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Schema

from sonda.api.auth import scope_of
from sonda.api.schemas import InputSchema, PatchSchema
from sonda.loop.casefile import CaseFilters
from sonda.loop.models import (
    CaseEventKind,
    CaseState,
    CodingSource,
    Loop,
    Priority,
    Problem,
    RecoveryOutcome,
)
from sonda.org.schemas import UnitRef

VERSION_HELP = (
    "The case's `version` as you read it. When the case has changed since, nothing is written "
    "and the answer is 409 naming `version`: read the case again and retry."
)


def reader_language(request: HttpRequest) -> str:
    """The language the caller reads: their own, as the pages use it."""
    return str(scope_of(request).user.language or settings.LANGUAGE_CODE)


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class PersonRef(Schema):
    id: int
    full_name: str


class FunctionRef(Schema):
    id: int
    name: str


# Cases -------------------------------------------------------------------------------------------


class CaseQuery(Schema):
    """Filters of the case list; all optional."""

    state: list[CaseState] = Field(
        default_factory=list, description="Only cases in these states (repeat the parameter)."
    )
    open: bool = Field(False, description="Only open cases (not closed).")
    priority: Priority | None = None
    loop: Loop | None = Field(None, description="inner or outer.")
    owner_id: int | None = Field(None, description="Cases this user calls back.")
    mine: bool = Field(False, description="Only the cases you call back.")
    callbacks: bool = Field(False, description="Only your executive callbacks.")
    queue: bool | None = Field(None, description="true: the fallback queue (no owner yet).")
    unit_id: int | None = Field(None, description="Cases of this unit and the units below it.")
    function_id: int | None = Field(None, description="Cases linked to this HQ function.")
    problem_id: int | None = Field(None, description="Cases coded with this problem.")
    customer_id: int | None = None
    overdue: bool = Field(False, description="Only open cases past a deadline they missed.")

    def filters(self, user_id: int) -> CaseFilters:
        return CaseFilters(
            states=frozenset(str(state) for state in self.state),
            priority=self.priority or "",
            loop=self.loop or "",
            owner_id=user_id if self.mine else self.owner_id,
            queue=self.queue,
            unit_id=self.unit_id,
            function_id=self.function_id,
            problem_id=self.problem_id,
            customer_id=self.customer_id,
            callbacks_of=user_id if self.callbacks else None,
            overdue=self.overdue,
            open_only=self.open,
        )


class CaseOut(Schema):
    id: int
    version: int = Field(description="Grows with every change; send it back with changes.")
    state: CaseState
    priority: Priority
    loop: Loop
    queue: bool = Field(description="Waiting in the fallback queue for an owner.")
    owner: UserRef | None
    owner_function: FunctionRef | None = Field(description="The HQ function (outer loop).")
    unit: UnitRef | None
    employee: PersonRef | None = Field(description="The employee the response concerns.")
    customer_id: int | None
    response_id: int | None
    alert_rule_id: int | None
    opened_at: datetime
    first_contact_at: datetime | None
    first_contact_due: datetime | None
    resolved_at: datetime | None
    close_due: datetime | None
    closed_at: datetime | None
    recovery_outcome: RecoveryOutcome | None
    reopened_count: int
    escalation_level: int
    overdue: bool = Field(description="Open and past a deadline it missed.")
    can_edit: bool = Field(description="Whether you may change the case (else read-only).")

    @staticmethod
    def resolve_recovery_outcome(obj: Any) -> str | None:
        return obj.recovery_outcome or None

    @staticmethod
    def resolve_overdue(obj: Any) -> bool:
        return bool(getattr(obj, "overdue", False))

    @staticmethod
    def resolve_can_edit(obj: Any) -> bool:
        return bool(getattr(obj, "can_edit", False))


class AnswerSummary(Schema):
    question_key: str
    kind: str
    question: str = Field(description="The question in your language where the survey has it.")
    value: Any = Field(description="A number, option code(s), text or true/false.")
    labels: list[str] = Field(description="The chosen options' labels, in your language.")


class RootCauseOut(Schema):
    problem_id: int
    code: str
    label: str = Field(description="The problem's label in your language.")
    note: str
    source: CodingSource


class CaseEventOut(Schema):
    id: int
    kind: CaseEventKind
    at: datetime
    actor_id: int | None
    text: str
    data: dict[str, Any]


class CaseDetailOut(CaseOut):
    next_states: list[CaseState] = Field(
        description="The states the workflow lets you move the case to now."
    )
    answers: list[AnswerSummary]
    root_causes: list[RootCauseOut]
    timeline: list[CaseEventOut]
    follow_up_invitation_id: int | None = Field(
        description="The follow-up survey's invitation sent when the case closed; null: none."
    )
    follow_up_response_id: int | None = Field(
        description="The customer's answer to the follow-up survey; null: not answered."
    )


class CaseStateIn(InputSchema):
    state: CaseState = Field(
        description="new → in_contact → resolved | not_resolved → closed; closed → in_contact "
        "reopens (with a reason). Closing needs a root cause and a recovery outcome."
    )
    version: int = Field(description=VERSION_HELP)
    reason: str = Field("", max_length=2000, description="Required when reopening.")
    recovery_outcome: RecoveryOutcome | None = Field(
        None, description="Recorded with the move (required to close unless already recorded)."
    )


class CaseOutcomeIn(InputSchema):
    recovery_outcome: RecoveryOutcome
    version: int | None = Field(None, description=VERSION_HELP)


class CaseNoteIn(InputSchema):
    text: str = Field(min_length=1, max_length=10_000)
    version: int | None = Field(
        None, description=VERSION_HELP + " Notes never clash with each other: leave it out."
    )


class RootCausesIn(InputSchema):
    root_causes: list[int] = Field(
        description="Problem ids: the case is coded with exactly these (others are uncoded).",
        max_length=50,
    )
    notes: dict[int, str] = Field(
        default_factory=dict, description="Per problem id, what the customer said about it."
    )
    version: int | None = Field(None, description=VERSION_HELP)


class ReassignIn(InputSchema):
    owner_id: int = Field(description="The member who calls the customer back from now on.")
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = Field(None, description=VERSION_HELP)


class CoachingNoteIn(InputSchema):
    behaviour: str = Field(min_length=1, max_length=4000, description="What happened.")
    agreed_action: str = Field(min_length=1, max_length=4000, description="What was agreed.")
    due_on: date | None = Field(None, description="By when.")


class CoachingNoteOut(Schema):
    id: int
    case_id: int
    employee: PersonRef
    supervisor: UserRef | None
    behaviour: str
    agreed_action: str
    due_on: date | None
    acknowledged_at: datetime | None
    created_at: datetime


class WorkloadOut(Schema):
    owner: UserRef | None = Field(description="null: the fallback queue.")
    open: int
    overdue: int
    by_state: dict[str, int]
    by_priority: dict[str, int]


# Functions ---------------------------------------------------------------------------------------


class FunctionOut(Schema):
    id: int
    name: str
    description: str
    email: str
    lead_id: int | None = Field(description="The person accountable for its problems.")
    member_ids: list[int] = Field(description="The users who work its cases.")
    is_active: bool

    @staticmethod
    def resolve_member_ids(obj: Any) -> list[int]:
        return sorted(member.pk for member in obj.members.all())


class FunctionCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    email: str = Field("", max_length=254)
    lead_id: int | None = None
    member_ids: list[int] = Field(default_factory=list, max_length=500)


class FunctionUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"lead_id"})

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    email: str | None = Field(None, max_length=254)
    lead_id: int | None = Field(None, description="null: no lead.")
    member_ids: list[int] | None = Field(None, max_length=500)
    is_active: bool | None = None


# Problems ----------------------------------------------------------------------------------------


class ProblemOut(Schema):
    id: int
    code: str
    labels: dict[str, str] = Field(description="The label per language.")
    label: str = Field(description="The label in your language.")
    parent_id: int | None
    depth: int
    position: int
    owner_function_id: int | None = Field(description="The HQ function that fixes it.")
    frontline_fixable: bool
    is_active: bool

    @staticmethod
    def resolve_label(obj: Problem, context: dict[str, Any]) -> str:
        return obj.label(reader_language(context["request"]))


class ProblemCreateIn(InputSchema):
    code: str = Field(min_length=1, max_length=64, description="e.g. `billing.wrong_bill`.")
    labels: dict[str, str] = Field(
        description="Per language; every language of the organisation's surveys is required."
    )
    parent_id: int | None = Field(None, description="Empty: a top-level problem.")
    owner_function_id: int | None = None
    frontline_fixable: bool = False
    position: int = 0


class ProblemUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"parent_id", "owner_function_id"})

    code: str | None = Field(None, min_length=1, max_length=64)
    labels: dict[str, str] | None = None
    parent_id: int | None = Field(None, description="null: move to the top level.")
    owner_function_id: int | None = Field(None, description="null: no owning function.")
    frontline_fixable: bool | None = None
    is_active: bool | None = None
    position: int | None = None


class ProblemMappingOut(Schema):
    id: int
    survey_id: int | None = Field(description="null: every survey asking this question key.")
    question_key: str
    option_code: str
    problem_id: int


class ProblemMappingIn(InputSchema):
    survey_id: int | None = None
    question_key: str = Field(min_length=1, max_length=40)
    option_code: str = Field(min_length=1, max_length=64)
    problem_id: int


# Alert rules -------------------------------------------------------------------------------------

CONDITIONS_HELP = (
    "All must hold. Each is one of: {kind: loyalty, question, classes}, {kind: score, question, "
    "min?, max?}, {kind: answer, question, options}, {kind: words, question?, phrases: "
    "{language: [phrases]}}, {kind: competitor, question?, names}, {kind: non_response, days} "
    "(alone in its rule)."
)


class AlertRuleOut(Schema):
    id: int
    name: str
    program_id: int | None
    survey_id: int | None
    conditions: list[dict[str, Any]]
    priority: Priority
    position: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AlertRuleCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    conditions: list[dict[str, Any]] = Field(description=CONDITIONS_HELP, max_length=20)
    priority: Priority = Priority.NORMAL
    program_id: int | None = Field(None, description="Empty: responses of every program.")
    survey_id: int | None = Field(None, description="Empty: every survey of the program.")
    position: int = Field(0, description="Among rules of one priority, the lower wins.")
    is_active: bool = True


class AlertRuleUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"program_id", "survey_id"})

    name: str | None = Field(None, min_length=1, max_length=200)
    conditions: list[dict[str, Any]] | None = Field(None, description=CONDITIONS_HELP)
    priority: Priority | None = None
    program_id: int | None = None
    survey_id: int | None = None
    position: int | None = None
    is_active: bool | None = Field(None, description="false pauses the rule.")
