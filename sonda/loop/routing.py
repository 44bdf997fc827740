"""Who owns a case: the inner loop's callback owner and the outer loop's function.

Inner loop: the case goes to the direct supervisor of the employee the response names; when
there is no such supervisor with an account here, to the manager of the case's unit; when neither,
to the fallback queue, where an analyst assigns it. A would-be owner must be an active member of
the organisation and never the employee the case is about.

Outer loop: once the case is coded with a problem the frontline cannot fix, it is linked to the
function that owns that problem (the first such coded problem with an owner); the function sees
it, read-only, with the other cases of its problems. A case that concerns an employee or a
problem the frontline can fix stays in the inner loop even so: both loops then work on it.

The decisions are plain functions over ids (`owner_route`, `loop_decision`), so that a bulk
evaluator can route many cases with a few queries.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Membership
from sonda.core.errors import Conflict, ValidationFailed
from sonda.loop.models import Case, CaseEventKind, CaseProblem, Loop
from sonda.loop.timeline import case_event_record, case_for_write, case_save
from sonda.loop.validation import member_user, required_text
from sonda.org.models import Person, Unit

Via = Literal["supervisor", "unit_manager", "queue", "manual"]


@dataclass(frozen=True)
class Route:
    owner_id: int | None
    via: Via


def owner_route(
    *,
    supervisor_user_id: int | None,
    manager_user_id: int | None,
    employee_user_id: int | None,
    eligible: Collection[int],
) -> Route:
    """The inner loop's owner: the supervisor, else the unit manager, else the queue."""
    for user_id, via in ((supervisor_user_id, "supervisor"), (manager_user_id, "unit_manager")):
        if user_id is not None and user_id in eligible and user_id != employee_user_id:
            return Route(owner_id=user_id, via=via)  # type: ignore[arg-type]
    return Route(owner_id=None, via="queue")


@dataclass(frozen=True)
class CodedProblem:
    problem_id: int
    frontline_fixable: bool
    owner_function_id: int | None  # None also when the function is inactive


def loop_decision(
    *, concerns_employee: bool, problems: Sequence[CodedProblem]
) -> tuple[Loop, int | None]:
    """The case's loop and the function it is linked to, from what it is coded with."""
    systemic = [p for p in problems if not p.frontline_fixable]
    function_id = next(
        (p.owner_function_id for p in systemic if p.owner_function_id is not None), None
    )
    inner = concerns_employee or any(p.frontline_fixable for p in problems) or not systemic
    return (Loop.INNER if inner else Loop.OUTER), function_id


def eligible_owners(organisation_id: int, user_ids: Collection[int | None]) -> set[int]:
    """Of these users, the active members of the organisation."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return set()
    return set(
        Membership.objects.filter(
            organisation_id=organisation_id, user_id__in=wanted, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def case_owner_find(*, organisation_id: int, employee: Person | None, unit: Unit | None) -> Route:
    """The owner for a case about `employee` (or none) in `unit`."""
    supervisor = employee.supervisor if employee is not None else None
    supervisor_user_id = (
        supervisor.user_id if supervisor is not None and supervisor.is_active else None
    )
    manager = unit.manager if unit is not None else None
    manager_user_id = manager.user_id if manager is not None and manager.is_active else None
    return owner_route(
        supervisor_user_id=supervisor_user_id,
        manager_user_id=manager_user_id,
        employee_user_id=employee.user_id if employee is not None else None,
        eligible=eligible_owners(organisation_id, (supervisor_user_id, manager_user_id)),
    )


def coded_problems(case: Case) -> list[CodedProblem]:
    """The case's coded problems, in the order they were coded."""
    rows = (
        CaseProblem.objects.filter(case=case)
        .select_related("problem__owner_function")
        .order_by("id")
    )
    return [
        CodedProblem(
            problem_id=row.problem_id,
            frontline_fixable=row.problem.frontline_fixable,
            owner_function_id=(
                row.problem.owner_function_id
                if row.problem.owner_function is not None and row.problem.owner_function.is_active
                else None
            ),
        )
        for row in rows
    ]


def case_relink(*, case: Case, actor_id: int | None, at: datetime) -> list[str]:
    """Re-decide the case's loop and function after coding; the changed fields (unsaved).

    A change of function is recorded on the timeline; the callback owner stays as it is.
    """
    loop, function_id = loop_decision(
        concerns_employee=case.employee_id is not None, problems=coded_problems(case)
    )
    changed: list[str] = []
    if case.loop != loop:
        case.loop = loop
        changed.append("loop")
    if case.owner_function_id != function_id:
        case_event_record(
            case=case,
            kind=CaseEventKind.LINKED,
            at=at,
            actor_id=actor_id,
            data={"from_function": case.owner_function_id, "to_function": function_id},
        )
        case.owner_function_id = function_id
        changed.append("owner_function")
    return changed


def case_reassign(
    *,
    scope: Scope,
    case_id: int,
    owner_id: int,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Give the case to another owner, saying why (the reason goes on the timeline).

    Taking a case out of the fallback queue is the same move.
    """
    clean_reason = required_text(reason, "reason", longest=2000)
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        owner = member_user(scope, owner_id, "owner_id")
        if case.employee is not None and case.employee.user_id == owner.pk:
            raise ValidationFailed.on(
                "owner_id", _("a case cannot be given to the employee it is about")
            )
        if case.owner_id == owner.pk:
            raise Conflict.on("owner_id", _("the case already belongs to this owner"))
        previous = case.owner_id
        kind = CaseEventKind.ASSIGNED if case.queue else CaseEventKind.REASSIGNED
        case.owner = owner
        case.queue = False
        case_event_record(
            case=case,
            kind=kind,
            at=at,
            actor_id=scope.user.pk,
            text=clean_reason,
            data={"from_owner": previous, "to_owner": owner.pk, "via": "manual"},
        )
        case_save(case, ["owner", "queue"])
    return case
