"""The closed loop over the API: cases, coaching notes, the problem taxonomy, functions and
alert rules.

Cases follow the case access rules (`sonda.loop.selectors`): a case outside the caller's view
is not found (404) whatever they send; a case they read but may not change refuses changes
(403). Writes that move a case carry the `version` the client read, and a stale one is refused
with 409 naming `version`. The taxonomy is read by every member; it and the alert rules are
written by admins and analysts.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.responses import Status

from sonda.accounts.access import Scope
from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.core.errors import PermissionDenied
from sonda.loop import rules, selectors, taxonomy, workflow
from sonda.loop.casefile import (
    allowed_states,
    case_answers,
    case_list_filtered,
    case_read,
    case_workload,
)
from sonda.loop.models import (
    AlertRule,
    Case,
    CaseEvent,
    CaseProblem,
    CoachingNote,
    Function,
    Problem,
    ProblemMapping,
)
from sonda.loop.routing import case_reassign
from sonda.loop.schemas import (
    AlertRuleCreateIn,
    AlertRuleOut,
    AlertRuleUpdateIn,
    CaseDetailOut,
    CaseEventOut,
    CaseNoteIn,
    CaseOut,
    CaseOutcomeIn,
    CaseQuery,
    CaseStateIn,
    CoachingNoteIn,
    CoachingNoteOut,
    FunctionCreateIn,
    FunctionOut,
    FunctionUpdateIn,
    ProblemCreateIn,
    ProblemMappingIn,
    ProblemMappingOut,
    ProblemOut,
    ProblemUpdateIn,
    ReassignIn,
    RootCausesIn,
    WorkloadOut,
    reader_language,
)
from sonda.loop.selectors import can_edit

cases_router = Router(tags=["cases"])
coaching_router = Router(tags=["cases"])
problems_router = Router(tags=["problem taxonomy"])
functions_router = Router(tags=["problem taxonomy"])
alert_rules_router = Router(tags=["alert rules"])


def _given(payload: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields the client sent, for a service's partial update (left out: KEEP)."""
    return {name: getattr(payload, name) for name in names if payload.given(name)}


# Cases -------------------------------------------------------------------------------------------


class _CaseDetail:
    """A case with what its detail adds (answers, root causes, timeline, next states)."""

    def __init__(self, case: Case, **more: Any) -> None:
        self._case = case
        self.__dict__.update(more)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def _case_detail(request: HttpRequest, case_id: int) -> _CaseDetail:
    scope = scope_of(request)
    case = case_read(scope=scope, case_id=case_id, now=timezone.now())
    language = reader_language(request)
    answers = [
        {
            "question_key": q.key,
            "kind": q.kind,
            "question": q.text,
            "value": q.value,
            "labels": q.labels,
        }
        for q in case_answers(case=case, language=language)
        if q.answered
    ]
    root_causes = [
        {
            "problem_id": row.problem_id,
            "code": row.problem.code,
            "label": row.problem.label(language),
            "note": row.note,
            "source": row.source,
        }
        for row in CaseProblem.objects.filter(case=case).select_related("problem").order_by("id")
    ]
    return _CaseDetail(
        case,
        next_states=allowed_states(case) if can_edit(case) else [],
        answers=answers,
        root_causes=root_causes,
        timeline=list(CaseEvent.objects.filter(case=case).order_by("at", "id")),
    )


def _seen(scope: Scope, case_id: int) -> None:
    """A case outside the caller's view is not found, whatever the request says."""
    selectors.case_get(scope=scope, case_id=case_id)


@cases_router.get("", response=list[CaseOut], summary="List the cases you see")
@paginate(Page)
def case_list(request: HttpRequest, filters: Query[CaseQuery]) -> QuerySet[Case]:
    scope = scope_of(request)
    return case_list_filtered(
        scope=scope, filters=filters.filters(scope.user.pk), now=timezone.now()
    )


@cases_router.get(
    "/workload",
    response=list[WorkloadOut],
    summary="Open cases per owner, by state and priority",
    description="Among the cases you see; the busiest owner first, the fallback queue last.",
)
def case_workload_get(request: HttpRequest) -> list[Any]:
    return list(case_workload(scope=scope_of(request), now=timezone.now()))


@cases_router.get(
    "/{case_id}",
    response=CaseDetailOut,
    summary="Get a case with the customer's answers, its root causes and its timeline",
)
def case_get(request: HttpRequest, case_id: int) -> _CaseDetail:
    return _case_detail(request, case_id)


@cases_router.post(
    "/{case_id}/state",
    response=CaseDetailOut,
    summary="Move a case to another state",
    description=(
        "Only the workflow's moves are allowed (409 naming `state` otherwise). Closing needs "
        "at least one root cause (422 naming `root_causes`) and the recovery outcome (422 "
        "naming `recovery_outcome`); reopening needs a `reason`."
    ),
)
def case_state(request: HttpRequest, case_id: int, payload: CaseStateIn) -> _CaseDetail:
    scope = scope_of(request)
    _seen(scope, case_id)
    workflow.case_transition(
        scope=scope,
        case_id=case_id,
        state=payload.state,
        reason=payload.reason,
        recovery_outcome=payload.recovery_outcome or "",
        expected_version=payload.version,
    )
    return _case_detail(request, case_id)


@cases_router.post(
    "/{case_id}/outcome", response=CaseDetailOut, summary="Record the recovery outcome"
)
def case_outcome(request: HttpRequest, case_id: int, payload: CaseOutcomeIn) -> _CaseDetail:
    scope = scope_of(request)
    _seen(scope, case_id)
    workflow.case_record_outcome(
        scope=scope,
        case_id=case_id,
        recovery_outcome=payload.recovery_outcome,
        expected_version=payload.version,
    )
    return _case_detail(request, case_id)


@cases_router.post(
    "/{case_id}/notes",
    response={201: CaseEventOut},
    summary="Add a note to the case's timeline",
)
def case_note(request: HttpRequest, case_id: int, payload: CaseNoteIn) -> Status[CaseEvent]:
    scope = scope_of(request)
    _seen(scope, case_id)
    event = workflow.case_add_note(
        scope=scope, case_id=case_id, text=payload.text, expected_version=payload.version
    )
    return Status(201, event)


@cases_router.put(
    "/{case_id}/root-causes",
    response=CaseDetailOut,
    summary="Code the case's root causes",
    description=(
        "The case is coded with exactly the problems listed. A problem the frontline cannot "
        "fix links the case to the function that owns it (the outer loop)."
    ),
)
def case_root_causes(request: HttpRequest, case_id: int, payload: RootCausesIn) -> _CaseDetail:
    scope = scope_of(request)
    _seen(scope, case_id)
    workflow.case_code_root_causes(
        scope=scope,
        case_id=case_id,
        problem_ids=payload.root_causes,
        notes=payload.notes,
        expected_version=payload.version,
    )
    return _case_detail(request, case_id)


@cases_router.post(
    "/{case_id}/reassign", response=CaseDetailOut, summary="Give the case to another owner"
)
def case_reassign_post(request: HttpRequest, case_id: int, payload: ReassignIn) -> _CaseDetail:
    scope = scope_of(request)
    _seen(scope, case_id)
    case_reassign(
        scope=scope,
        case_id=case_id,
        owner_id=payload.owner_id,
        reason=payload.reason,
        expected_version=payload.version,
    )
    return _case_detail(request, case_id)


@cases_router.post(
    "/{case_id}/coaching-notes",
    response={201: CoachingNoteOut},
    summary="Record a coaching note for the employee the case is about",
    description="By the employee's direct supervisor or the case's owner.",
)
def case_coaching_note(
    request: HttpRequest, case_id: int, payload: CoachingNoteIn
) -> Status[CoachingNote]:
    scope = scope_of(request)
    case = case_read(scope=scope, case_id=case_id, now=timezone.now())
    if not selectors.may_coach(scope, case):
        raise PermissionDenied(
            _("Coaching is recorded by the employee's supervisor or the case's owner.")
        )
    note = workflow.coaching_note_create(
        scope=scope,
        case_id=case_id,
        behaviour=payload.behaviour,
        agreed_action=payload.agreed_action,
        due_on=payload.due_on,
    )
    return Status(201, selectors.coaching_note_list(scope=scope).get(pk=note.pk))


@coaching_router.get(
    "",
    response=list[CoachingNoteOut],
    summary="List coaching notes",
    description="Your own, and those of the people you supervise or manage; HQ roles see all.",
)
@paginate(Page)
def coaching_note_list(
    request: HttpRequest, employee_id: int | None = None
) -> QuerySet[CoachingNote]:
    return selectors.coaching_note_list(scope=scope_of(request), employee_id=employee_id)


@coaching_router.post(
    "/{note_id}/acknowledge",
    response=CoachingNoteOut,
    summary="Mark a coaching note addressed to you as seen",
)
def coaching_note_acknowledge(request: HttpRequest, note_id: int) -> CoachingNote:
    scope = scope_of(request)
    workflow.coaching_note_acknowledge(scope=scope, note_id=note_id)
    return selectors.coaching_note_list(scope=scope).get(pk=note_id)


# Functions ---------------------------------------------------------------------------------------


@functions_router.get("", response=list[FunctionOut], summary="List the HQ functions")
@paginate(Page)
def function_list(request: HttpRequest) -> QuerySet[Function]:
    return selectors.function_list(scope=scope_of(request))


@functions_router.get("/{function_id}", response=FunctionOut, summary="Get an HQ function")
def function_get(request: HttpRequest, function_id: int) -> Function:
    return selectors.function_get(scope=scope_of(request), function_id=function_id)


@functions_router.post("", response={201: FunctionOut}, summary="Create an HQ function")
def function_create(request: HttpRequest, payload: FunctionCreateIn) -> Status[Function]:
    scope = scope_of(request)
    function = taxonomy.function_create(
        scope=scope,
        name=payload.name,
        description=payload.description,
        email=payload.email,
        lead_id=payload.lead_id,
        member_ids=payload.member_ids,
    )
    return Status(201, selectors.function_get(scope=scope, function_id=function.pk))


@functions_router.patch(
    "/{function_id}",
    response=FunctionOut,
    summary="Change an HQ function (`is_active: false` retires it)",
)
def function_update(request: HttpRequest, function_id: int, payload: FunctionUpdateIn) -> Function:
    scope = scope_of(request)
    selectors.function_get(scope=scope, function_id=function_id)
    changes = _given(
        payload, ("name", "description", "email", "lead_id", "member_ids", "is_active")
    )
    taxonomy.function_update(scope=scope, function_id=function_id, **changes)
    return selectors.function_get(scope=scope, function_id=function_id)


# Problems ----------------------------------------------------------------------------------------


@problems_router.get(
    "", response=list[ProblemOut], summary="List the problem taxonomy in tree order"
)
@paginate(Page)
def problem_list(request: HttpRequest, active: bool = False) -> QuerySet[Problem]:
    return selectors.problem_list(scope=scope_of(request), active_only=active)


@problems_router.get(
    "/mappings",
    response=list[ProblemMappingOut],
    summary="List the survey options mapped to problems",
)
@paginate(Page)
def problem_mapping_list(
    request: HttpRequest, survey_id: int | None = None
) -> QuerySet[ProblemMapping]:
    return selectors.problem_mapping_list(scope=scope_of(request), survey_id=survey_id)


@problems_router.put(
    "/mappings",
    response=ProblemMappingOut,
    summary="Map a choice option to a problem",
    description="One mapping per option: mapping it again changes the problem it codes.",
)
def problem_mapping_set(request: HttpRequest, payload: ProblemMappingIn) -> ProblemMapping:
    return taxonomy.problem_mapping_set(
        scope=scope_of(request),
        survey_id=payload.survey_id,
        question_key=payload.question_key,
        option_code=payload.option_code,
        problem_id=payload.problem_id,
    )


@problems_router.delete(
    "/mappings/{mapping_id}", response={204: None}, summary="Remove an option's mapping"
)
def problem_mapping_delete(request: HttpRequest, mapping_id: int) -> Status[None]:
    taxonomy.problem_mapping_delete(scope=scope_of(request), mapping_id=mapping_id)
    return Status(204, None)


@problems_router.get("/{problem_id}", response=ProblemOut, summary="Get a problem")
def problem_get(request: HttpRequest, problem_id: int) -> Problem:
    return selectors.problem_get(scope=scope_of(request), problem_id=problem_id)


@problems_router.post("", response={201: ProblemOut}, summary="Create a problem")
def problem_create(request: HttpRequest, payload: ProblemCreateIn) -> Status[Problem]:
    scope = scope_of(request)
    problem = taxonomy.problem_create(
        scope=scope,
        code=payload.code,
        labels=payload.labels,
        parent_id=payload.parent_id,
        owner_function_id=payload.owner_function_id,
        frontline_fixable=payload.frontline_fixable,
        position=payload.position,
    )
    return Status(201, selectors.problem_get(scope=scope, problem_id=problem.pk))


@problems_router.patch(
    "/{problem_id}",
    response=ProblemOut,
    summary="Change a problem (moving it moves its sub-problems; `is_active: false` retires it)",
)
def problem_update(request: HttpRequest, problem_id: int, payload: ProblemUpdateIn) -> Problem:
    scope = scope_of(request)
    selectors.problem_get(scope=scope, problem_id=problem_id)
    changes = _given(
        payload,
        (
            "code",
            "labels",
            "parent_id",
            "owner_function_id",
            "frontline_fixable",
            "is_active",
            "position",
        ),
    )
    taxonomy.problem_update(scope=scope, problem_id=problem_id, **changes)
    return selectors.problem_get(scope=scope, problem_id=problem_id)


# Alert rules -------------------------------------------------------------------------------------


@alert_rules_router.get(
    "", response=list[AlertRuleOut], summary="List alert rules in the order they win"
)
@paginate(Page)
def alert_rule_list(request: HttpRequest) -> QuerySet[AlertRule]:
    return selectors.alert_rule_list(scope=scope_of(request))


@alert_rules_router.get("/{rule_id}", response=AlertRuleOut, summary="Get an alert rule")
def alert_rule_get(request: HttpRequest, rule_id: int) -> AlertRule:
    return selectors.alert_rule_get(scope=scope_of(request), rule_id=rule_id)


@alert_rules_router.post("", response={201: AlertRuleOut}, summary="Create an alert rule")
def alert_rule_create(request: HttpRequest, payload: AlertRuleCreateIn) -> Status[AlertRule]:
    scope = scope_of(request)
    rule = rules.alert_rule_create(
        scope=scope,
        name=payload.name,
        conditions=payload.conditions,
        priority=payload.priority,
        program_id=payload.program_id,
        survey_id=payload.survey_id,
        position=payload.position,
        is_active=payload.is_active,
    )
    return Status(201, selectors.alert_rule_get(scope=scope, rule_id=rule.pk))


@alert_rules_router.patch(
    "/{rule_id}",
    response=AlertRuleOut,
    summary="Change an alert rule (`is_active: false` pauses it)",
    description="Cases the rule already opened stay as they are.",
)
def alert_rule_update(request: HttpRequest, rule_id: int, payload: AlertRuleUpdateIn) -> AlertRule:
    scope = scope_of(request)
    selectors.alert_rule_get(scope=scope, rule_id=rule_id)
    changes = _given(
        payload,
        ("name", "conditions", "priority", "program_id", "survey_id", "position", "is_active"),
    )
    rules.alert_rule_update(scope=scope, rule_id=rule_id, **changes)
    return selectors.alert_rule_get(scope=scope, rule_id=rule_id)


@alert_rules_router.delete(
    "/{rule_id}",
    response={204: None},
    summary="Delete an alert rule",
    description="The cases it opened keep their history.",
)
def alert_rule_delete(request: HttpRequest, rule_id: int) -> Status[None]:
    scope = scope_of(request)
    selectors.alert_rule_get(scope=scope, rule_id=rule_id)
    rules.alert_rule_delete(scope=scope, rule_id=rule_id)
    return Status(204, None)
