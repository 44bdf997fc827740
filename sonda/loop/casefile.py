"""What the case pages and the case API show: filtered lists, the callback screen, the workload.

Reads only, and every case through `selectors.case_list` (the one guarded way to cases). The
callback screen reads the customer's answers through the case, not through the responses' own
scope: a supervisor who may call a customer back reads what that customer answered even when
the response is not one of "their" responses (it named their report, not them).
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Membership, Role, User
from sonda.core.errors import NotFound
from sonda.customers.models import CustomerIdentity
from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseProblem,
    CaseState,
    CoachingNote,
    ExecutiveCallback,
    Function,
    Problem,
)
from sonda.loop.selectors import (
    can_edit,
    case_list,
    coaching_note_list,
    function_cases_by_problem,
    may_coach,
    problem_list,
)
from sonda.loop.sla import AWAITING_CONTACT, AWAITING_RESOLUTION
from sonda.loop.workflow import TRANSITIONS
from sonda.surveys.models import Answer, Response
from sonda.surveys.response_selectors import (
    AnsweredQuestion,
    ResponseFilters,
    answered_questions,
    response_answers,
    response_list,
    response_questions,
)

HISTORY_LIMIT = 20
# The headline measure of a response, as the responses pages show it.
HEADLINE_KINDS = ("nps", "csat", "ces", "rating")
# Roles that always have a cases area; anyone else has one when a case or a function is theirs.
CASE_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.EXECUTIVE, Role.MANAGER})


@dataclass(frozen=True)
class CaseFilters:
    """What to narrow a case list to; empty means "any"."""

    states: frozenset[str] = frozenset()
    priority: str = ""
    loop: str = ""
    owner_id: int | None = None
    queue: bool | None = None
    unit_id: int | None = None
    function_id: int | None = None
    problem_id: int | None = None
    customer_id: int | None = None
    callbacks_of: int | None = None  # an executive's callbacks
    overdue: bool = False
    open_only: bool = False


def overdue_condition(now: datetime) -> Q:
    """An open case past a deadline it has not met, by the SLA rules of `sonda.loop.sla`: no
    first contact by its first-contact deadline, or not resolved by its closing deadline."""
    missed_contact = Q(
        state__in=AWAITING_CONTACT, first_contact_at__isnull=True, first_contact_due__lt=now
    )
    missed_closing = Q(state__in=AWAITING_RESOLUTION, close_due__lt=now)
    return missed_contact | missed_closing


def case_list_filtered(*, scope: Scope, filters: CaseFilters, now: datetime) -> QuerySet[Case]:
    """The cases the scope sees that meet the filters, newest first, each with `overdue`."""
    cases = case_list(
        scope=scope,
        states=filters.states or None,
        open_only=filters.open_only,
        owner_id=filters.owner_id,
        function_id=filters.function_id,
        problem_id=filters.problem_id,
        queue=filters.queue,
        unit_id=filters.unit_id,
    )
    if filters.priority:
        cases = cases.filter(priority=filters.priority)
    if filters.loop:
        cases = cases.filter(loop=filters.loop)
    if filters.customer_id is not None:
        cases = cases.filter(customer_id=filters.customer_id)
    if filters.callbacks_of is not None:
        cases = cases.filter(
            Exists(
                ExecutiveCallback.objects.filter(
                    case=OuterRef("pk"), executive_id=filters.callbacks_of
                )
            )
        )
    late = overdue_condition(now)
    if filters.overdue:
        cases = cases.filter(late)
    return cases.select_related("owner", "unit", "employee", "owner_function").annotate(
        overdue=ExpressionWrapper(late, output_field=BooleanField())
    )


def allowed_states(case: Case) -> list[str]:
    """The states the workflow lets the case move to next, in the workflow's order."""
    following = TRANSITIONS.get(case.state, frozenset())
    return [state for state in CaseState.values if state in following]


@dataclass(frozen=True)
class CaseFile:
    """Everything the callback screen shows about one case."""

    case: Case
    editable: bool
    response: Response | None
    questions: list[AnsweredQuestion]
    history: list[Response]
    previous_cases: list[Case]
    events: list[CaseEvent]
    root_causes: list[CaseProblem]
    next_states: list[str]
    coaching_notes: list[CoachingNote]
    coaching: bool
    contacts: list[CustomerIdentity] = field(default_factory=list)


def case_answers(*, case: Case, language: str) -> list[AnsweredQuestion]:
    """The answers of the response behind the case (the caller read the case through its scope),
    each question and chosen option in `language` where the survey has it."""
    response = case.response
    if response is None:
        return []
    return answered_questions(
        questions=response_questions(response=response),
        answers=response_answers(response=response),
        language=language,
        default_language=response.survey.default_language,
    )


def customer_history(*, scope: Scope, case: Case) -> list[Response]:
    """The customer's other responses, newest first, each with its headline `score`: those the
    scope reads as responses, and those behind the customer's other cases that it sees."""
    if case.customer_id is None:
        return []
    readable = response_list(
        scope=scope, filters=ResponseFilters(customer_id=case.customer_id)
    ).values("pk")
    of_visible_cases = (
        case_list(scope=scope)
        .filter(customer_id=case.customer_id, response__isnull=False)
        .values("response_id")
    )
    headline = (
        Answer.objects.filter(response=OuterRef("pk"), kind__in=HEADLINE_KINDS)
        .order_by("question__position")
        .values("value_number")[:1]
    )
    rows = (
        Response.objects.filter(organisation=scope.organisation, customer_id=case.customer_id)
        .filter(Q(pk__in=readable) | Q(pk__in=of_visible_cases))
        .select_related("survey", "unit")
        .annotate(score=Subquery(headline))
        .order_by("-started_at", "-id")
    )
    if case.response_id is not None:
        rows = rows.exclude(pk=case.response_id)
    return list(rows[:HISTORY_LIMIT])


def case_read(*, scope: Scope, case_id: int, now: datetime) -> Case:
    """One case the scope sees, with `can_edit` and `overdue`, its response and its employee's
    supervisor loaded (NotFound otherwise)."""
    case = (
        case_list_filtered(scope=scope, filters=CaseFilters(), now=now)
        .select_related("response__survey", "employee__supervisor", "customer", "alert_rule")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("No such case."))
    return case


def case_file(*, scope: Scope, case_id: int, language: str, now: datetime) -> CaseFile:
    """The callback screen of a case the scope sees (NotFound otherwise)."""
    case = case_read(scope=scope, case_id=case_id, now=now)
    editable = can_edit(case)
    previous = (
        case_list_filtered(
            scope=scope, filters=CaseFilters(customer_id=case.customer_id), now=now
        ).exclude(pk=case.pk)[:HISTORY_LIMIT]
        if case.customer_id is not None
        else []
    )
    contacts = (
        list(
            CustomerIdentity.objects.filter(
                organisation=scope.organisation, customer_id=case.customer_id
            )
            .exclude(kind="external")
            .order_by("kind", "value")
        )
        if editable and case.customer_id is not None
        else []
    )
    return CaseFile(
        case=case,
        editable=editable,
        response=case.response,
        questions=case_answers(case=case, language=language),
        history=customer_history(scope=scope, case=case),
        previous_cases=list(previous),
        events=list(
            CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")
        ),
        root_causes=list(
            CaseProblem.objects.filter(case=case).select_related("problem").order_by("id")
        ),
        next_states=allowed_states(case) if editable else [],
        coaching_notes=list(coaching_note_list(scope=scope).filter(case=case)),
        coaching=may_coach(scope, case),
        contacts=contacts,
    )


# Choices the forms offer -------------------------------------------------------------------------


def problem_choices(
    *, scope: Scope, language: str, coded: Collection[int] = ()
) -> list[tuple[int, str]]:
    """The active problems in tree order, labelled in `language` and indented by depth, and the
    retired ones among `coded` (a case's present coding), marked as retired."""
    problems = problem_list(scope=scope).filter(Q(is_active=True) | Q(pk__in=list(coded)))
    retired = _("(retired)")
    return [
        (
            problem.pk,
            "\u2003" * problem.depth
            + problem.label(language)
            + ("" if problem.is_active else f" {retired}"),
        )
        for problem in problems
    ]


def owner_choices(*, scope: Scope, case: Case | None = None) -> list[tuple[int, str]]:
    """Who a case may be given to: the organisation's active members, never the case's employee."""
    members = (
        Membership.objects.filter(organisation=scope.organisation, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    about = case.employee.user_id if case is not None and case.employee is not None else None
    return [
        (m.user_id, f"{m.user} ({m.get_role_display()})") for m in members if m.user_id != about
    ]


# The workload and the function's view ------------------------------------------------------------


@dataclass
class WorkloadRow:
    """One owner's open cases (`owner` None: the fallback queue)."""

    owner: User | None
    open: int = 0
    overdue: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_priority: dict[str, int] = field(default_factory=dict)


def case_workload(*, scope: Scope, now: datetime) -> list[WorkloadRow]:
    """Open cases per owner among those the scope sees, by state and priority, the busiest
    first and the queue last."""
    counts = (
        case_list(scope=scope, open_only=True)
        .order_by()
        .values("owner_id", "state", "priority")
        .annotate(n=Count("pk"), late=Count("pk", filter=overdue_condition(now)))
    )
    rows: dict[int | None, WorkloadRow] = {}
    for item in counts:
        row = rows.setdefault(item["owner_id"], WorkloadRow(owner=None))
        row.open += item["n"]
        row.overdue += item["late"]
        row.by_state[item["state"]] = row.by_state.get(item["state"], 0) + item["n"]
        row.by_priority[item["priority"]] = row.by_priority.get(item["priority"], 0) + item["n"]
    owners = User.objects.in_bulk([pk for pk in rows if pk is not None])
    for pk, row in rows.items():
        row.owner = owners.get(pk) if pk is not None else None
    return sorted(
        rows.values(),
        key=lambda r: (r.owner is None, -r.open, str(r.owner or "")),
    )


@dataclass
class ProblemGroup:
    problem: Problem
    label: str
    open: int
    total: int
    cases: list[Case]


@dataclass
class FunctionView:
    function: Function
    groups: list[ProblemGroup]


GROUP_CASES = 20


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def function_views(*, scope: Scope, now: datetime, language: str) -> list[FunctionView]:
    """The functions the user works in, each with its open cases grouped by coded problem
    (labelled in `language`)."""
    functions = Function.objects.filter(organisation=scope.organisation, members=scope.user)
    views = []
    for function in functions.order_by("name", "pk"):
        counts = function_cases_by_problem(scope=scope, function_id=function.pk)
        problems = Problem.objects.in_bulk([row["problem_id"] for row in counts])
        open_cases = case_list_filtered(
            scope=scope, filters=CaseFilters(function_id=function.pk, open_only=True), now=now
        )
        codings = (
            CaseProblem.objects.filter(
                case__in=open_cases.values("pk"), problem__owner_function=function
            )
            .select_related("case__owner", "case__unit")
            .order_by("problem_id", "-case__opened_at", "-case_id")
        )
        cases_by_problem: dict[int, list[Case]] = {}
        for coding in codings:
            listed = cases_by_problem.setdefault(coding.problem_id, [])
            if len(listed) < GROUP_CASES:
                listed.append(coding.case)
        groups = [
            ProblemGroup(
                problem=problems[_int(row["problem_id"])],
                label=problems[_int(row["problem_id"])].label(language),
                open=_int(row["open"]),
                total=_int(row["total"]),
                cases=cases_by_problem.get(_int(row["problem_id"]), []),
            )
            for row in counts
            if _int(row["problem_id"]) in problems
        ]
        views.append(FunctionView(function=function, groups=groups))
    return views


def has_cases(scope: Scope) -> bool:
    """Whether the user has a cases area: by role, or because a case or a function is theirs."""
    if scope.role in CASE_ROLES:
        return True
    return (
        Function.objects.filter(organisation=scope.organisation, members=scope.user).exists()
        or Case.objects.filter(organisation=scope.organisation, owner=scope.user).exists()
    )
