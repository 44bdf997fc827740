"""Scoped reads of the loop: cases (one guarded way in), the taxonomy, rules, coaching and praise.

Who sees and changes which case:

| who | sees | changes |
| --- | --- | --- |
| admin, analyst | every case | every case |
| executive | every case | their callbacks and cases they own |
| manager | cases routed to them and cases of their unit subtree | the same |
| function member (any role) | their function's cases, read-only | cases they own |
| frontline | cases routed to them | the same |

Nobody but admins and analysts sees a case about themselves (the case's employee is their own
person record): a frontline employee learns from coaching notes addressed to them instead.
Anything outside the scope is "not found"; a case seen read-only refuses changes (403).
"""

from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as Choose
from django.utils.translation import gettext as _

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.accounts.models import Role
from sonda.core.errors import NotFound, PermissionDenied
from sonda.loop.models import (
    OPEN_STATES,
    PRIORITY_RANK,
    AlertRule,
    Case,
    CaseEvent,
    CaseProblem,
    CoachingNote,
    ExecutiveCallback,
    Function,
    Praise,
    Problem,
    ProblemMapping,
)
from sonda.org.models import Person, Unit

SEE_EVERYTHING = frozenset({Role.ADMIN, Role.ANALYST})


@dataclass(frozen=True)
class CaseAccess:
    """The cases a scope sees and those it may change, as filters on the organisation's cases."""

    visible: Q
    editable: Q


def _functions_of(scope: Scope) -> QuerySet[Function, int]:
    mine = Function.objects.filter(organisation=scope.organisation, members=scope.user)
    return mine.values_list("pk", flat=True)


def _own_people(scope: Scope) -> QuerySet[Person, int]:
    return Person.objects.filter(organisation=scope.organisation, user=scope.user).values_list(
        "pk", flat=True
    )


def case_access(scope: Scope) -> CaseAccess:
    """The access rules of the table above, for this scope."""
    if scope.role in SEE_EVERYTHING:
        return CaseAccess(visible=Q(), editable=Q())
    # A case escalated to someone is theirs to act on, wherever it is in the tree (the SLA
    # sweep escalates up the supervisor chain, which need not follow the unit tree).
    owned = Q(owner=scope.user) | Q(escalated_to=scope.user)
    of_functions = Q(owner_function__in=_functions_of(scope))
    if scope.role == Role.EXECUTIVE:
        callbacks = Exists(
            ExecutiveCallback.objects.filter(case=OuterRef("pk"), executive=scope.user)
        )
        visible, editable = Q(), owned | Q(callbacks)
    elif scope.role == Role.MANAGER and scope.unit_path:
        subtree = Q(unit_path__startswith=scope.unit_path)
        visible, editable = subtree | owned | of_functions, subtree | owned
    else:
        visible, editable = owned | of_functions, owned
    not_about_me = Q(employee__isnull=True) | ~Q(employee_id__in=_own_people(scope))
    return CaseAccess(visible=visible & not_about_me, editable=editable & not_about_me)


def _priority_rank() -> Choose:
    return Choose(
        *(When(priority=name, then=Value(rank)) for name, rank in PRIORITY_RANK.items()),
        default=Value(len(PRIORITY_RANK)),
        output_field=IntegerField(),
    )


def case_list(
    *,
    scope: Scope,
    states: frozenset[str] | None = None,
    open_only: bool = False,
    owner_id: int | None = None,
    function_id: int | None = None,
    problem_id: int | None = None,
    queue: bool | None = None,
    unit_id: int | None = None,
) -> QuerySet[Case]:
    """The cases the scope sees, each with `can_edit` and `priority_rank`, newest first."""
    access = case_access(scope)
    cases = (
        Case.objects.filter(organisation=scope.organisation)
        .filter(access.visible)
        .annotate(
            can_edit=ExpressionWrapper(access.editable, output_field=BooleanField())
            if access.editable
            else Value(True, output_field=BooleanField()),
            priority_rank=_priority_rank(),
        )
    )
    if open_only:
        cases = cases.filter(state__in=OPEN_STATES)
    if states:
        cases = cases.filter(state__in=states)
    if owner_id is not None:
        cases = cases.filter(owner_id=owner_id)
    if function_id is not None:
        cases = cases.filter(owner_function_id=function_id)
    if problem_id is not None:
        cases = cases.filter(
            Exists(CaseProblem.objects.filter(case=OuterRef("pk"), problem_id=problem_id))
        )
    if queue is not None:
        cases = cases.filter(queue=queue)
    if unit_id is not None:
        unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        cases = cases.filter(unit_path__startswith=unit.path) if unit else cases.none()
    return cases.order_by("-opened_at", "-id")


def can_edit(case: Case) -> bool:
    """Whether the scope that listed the case may change it (as `case_list` annotated it)."""
    return bool(case.__dict__.get("can_edit", False))


def may_coach(scope: Scope, case: Case) -> bool:
    """Whether the scope may record coaching after this case: it must be an inner-loop case about
    an employee that the scope may change, and the scope the one who coaches them: their direct
    supervisor, or the case's owner (who calls back on the supervisor's behalf)."""
    if case.employee_id is None or not can_edit(case):
        return False
    if case.owner_id == scope.user.pk:
        return True
    return Person.objects.filter(
        pk=case.employee_id, supervisor__user_id=scope.user.pk, organisation=scope.organisation
    ).exists()


def case_get(*, scope: Scope, case_id: int) -> Case:
    """One case the scope sees (with `can_edit`), or NotFound."""
    case = (
        case_list(scope=scope)
        .select_related(
            "response",
            "customer",
            "unit",
            "employee",
            "owner",
            "owner_function",
            "alert_rule",
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("No such case."))
    return case


def case_lock_for_edit(*, scope: Scope, case_id: int) -> Case:
    """The case locked for an edit by the scope (inside the caller's transaction).

    NotFound outside the scope; PermissionDenied for a case the scope sees read-only.
    """
    case = case_list(scope=scope).select_for_update(of=("self",)).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such case."))
    if not can_edit(case):
        raise PermissionDenied(_("You may read this case but not change it."))
    return case


def case_events(*, scope: Scope, case_id: int) -> QuerySet[CaseEvent]:
    """A case's timeline, oldest first."""
    case = case_get(scope=scope, case_id=case_id)
    return CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")


def case_root_causes(*, scope: Scope, case_id: int) -> QuerySet[CaseProblem]:
    case = case_get(scope=scope, case_id=case_id)
    return CaseProblem.objects.filter(case=case).select_related("problem").order_by("id")


def case_workload(*, scope: Scope) -> list[dict[str, object]]:
    """Open cases per owner among the cases the scope sees (the workload view).

    Rows are `{"owner_id", "open", "new"}`, the busiest first; the queue is `owner_id` None.
    """
    rows = (
        case_list(scope=scope, open_only=True)
        .order_by()
        .values("owner_id")
        .annotate(open=Count("pk"), new=Count("pk", filter=Q(state="new")))
        .order_by("-open", F("owner_id").asc(nulls_last=True))
    )
    return list(rows)


def function_cases_by_problem(*, scope: Scope, function_id: int) -> list[dict[str, object]]:
    """A function's cases grouped by their coded problems: `{"problem_id", "open", "total"}`."""
    cases = case_list(scope=scope, function_id=function_id)
    rows = (
        CaseProblem.objects.filter(
            organisation=scope.organisation,
            case__in=cases.values("pk"),
            problem__owner_function_id=function_id,
        )
        .order_by()
        .values("problem_id")
        .annotate(
            total=Count("case_id", distinct=True),
            open=Count("case_id", distinct=True, filter=Q(case__state__in=OPEN_STATES)),
        )
        .order_by("-open", "-total", "problem_id")
    )
    return list(rows)


# The taxonomy and the rules ----------------------------------------------------------------------


def function_list(*, scope: Scope) -> QuerySet[Function]:
    """Every member of the organisation reads its functions (to see who owns what)."""
    return (
        Function.objects.filter(organisation=scope.organisation)
        .select_related("lead")
        .prefetch_related("members")
        .order_by("name", "pk")
    )


def function_get(*, scope: Scope, function_id: int) -> Function:
    function = function_list(scope=scope).filter(pk=function_id).first()
    if function is None:
        raise NotFound(_("No such function."))
    return function


def problem_list(*, scope: Scope, active_only: bool = False) -> QuerySet[Problem]:
    """The taxonomy in tree order; every member reads it (managers code their cases with it)."""
    problems = Problem.objects.filter(organisation=scope.organisation).select_related(
        "owner_function"
    )
    if active_only:
        problems = problems.filter(is_active=True)
    return problems.order_by("path")


def problem_get(*, scope: Scope, problem_id: int) -> Problem:
    problem = problem_list(scope=scope).filter(pk=problem_id).first()
    if problem is None:
        raise NotFound(_("No such problem."))
    return problem


def problem_mapping_list(*, scope: Scope, survey_id: int | None = None) -> QuerySet[ProblemMapping]:
    scope.require(READ_WHOLE_ORGANISATION, "read problem mappings")
    mappings = ProblemMapping.objects.filter(organisation=scope.organisation).select_related(
        "problem", "survey"
    )
    if survey_id is not None:
        mappings = mappings.filter(Q(survey_id=survey_id) | Q(survey__isnull=True))
    return mappings.order_by("question_key", "option_code", "pk")


def alert_rule_list(*, scope: Scope) -> QuerySet[AlertRule]:
    """The rules in the order they win; configured by admins and analysts, read by executives."""
    scope.require(READ_WHOLE_ORGANISATION, "read alert rules")
    return (
        AlertRule.objects.filter(organisation=scope.organisation)
        .select_related("program", "survey")
        .annotate(priority_rank=_priority_rank())
        .order_by("priority_rank", "position", "pk")
    )


def alert_rule_get(*, scope: Scope, rule_id: int) -> AlertRule:
    if scope.role not in READ_WHOLE_ORGANISATION:
        raise NotFound(_("No such alert rule."))
    rule = alert_rule_list(scope=scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such alert rule."))
    return rule


# Coaching and praise -----------------------------------------------------------------------------


def _people_visible(scope: Scope, *, employee: str) -> Q | None:
    """Coaching notes and praise follow the people: a manager's subtree, one's own and one's
    direct reports; None for HQ roles, who see all."""
    if scope.sees_whole_organisation:
        return None
    mine = Q(**{f"{employee}__user": scope.user}) | Q(
        **{f"{employee}__supervisor__user": scope.user}
    )
    if scope.role == Role.MANAGER and scope.unit_path:
        return mine | Q(**{f"{employee}__unit__path__startswith": scope.unit_path})
    return mine


def coaching_note_list(*, scope: Scope, employee_id: int | None = None) -> QuerySet[CoachingNote]:
    """Coaching notes: the employee's own, their supervisors', their managers'; HQ sees all."""
    notes = CoachingNote.objects.filter(organisation=scope.organisation).select_related(
        "employee", "supervisor", "case"
    )
    people = _people_visible(scope, employee="employee")
    if people is not None:
        notes = notes.filter(people | Q(supervisor=scope.user))
    if employee_id is not None:
        notes = notes.filter(employee_id=employee_id)
    return notes.order_by("-created_at", "-id")


def praise_list(*, scope: Scope, employee_id: int | None = None) -> QuerySet[Praise]:
    """Praise of the people the scope sees: one's own, one's reports', a manager's subtree's."""
    praise = Praise.objects.filter(organisation=scope.organisation).select_related(
        "employee", "response"
    )
    people = _people_visible(scope, employee="employee")
    if people is not None:
        praise = praise.filter(people)
    if employee_id is not None:
        praise = praise.filter(employee_id=employee_id)
    return praise.order_by("-created_at", "-id")


def executive_callback_list(
    *, scope: Scope, executive_id: int | None = None
) -> QuerySet[ExecutiveCallback]:
    """Callbacks: HQ roles see all; anyone else only their own (executives have theirs)."""
    callbacks = ExecutiveCallback.objects.filter(organisation=scope.organisation).select_related(
        "case", "executive"
    )
    if scope.role not in READ_WHOLE_ORGANISATION:
        callbacks = callbacks.filter(executive=scope.user)
    if executive_id is not None:
        callbacks = callbacks.filter(executive_id=executive_id)
    return callbacks.order_by("-month", "pk")
