"""Scoped reads of units and people.

Admins, analysts and executives see the whole organisation; a manager sees their unit subtree;
a frontline employee sees their own record and unit.
"""

from django.db.models import Q, QuerySet

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.core.errors import NotFound
from sonda.org.models import Person, Unit, UnitType


def unit_type_list(*, scope: Scope) -> QuerySet[UnitType]:
    return UnitType.objects.filter(organisation=scope.organisation).order_by("name")


def unit_list(*, scope: Scope, parent_id: int | None = None) -> QuerySet[Unit]:
    """The units in scope, in tree order; with `parent_id`, only that unit's direct children."""
    units = Unit.objects.filter(organisation=scope.organisation).select_related("unit_type")
    if parent_id is not None:
        units = units.filter(parent_id=parent_id)
    if scope.sees_whole_organisation:
        return units.order_by("path")
    if scope.role == Role.MANAGER and scope.unit_path:
        return units.filter(path__startswith=scope.unit_path).order_by("path")
    if scope.role == Role.FRONTLINE:
        return units.filter(people__user=scope.user).distinct().order_by("path")
    return units.none()


def unit_get(*, scope: Scope, unit_id: int) -> Unit:
    unit = unit_list(scope=scope).filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("No such unit.")
    return unit


def unit_ancestors(*, unit: Unit) -> list[Unit]:
    """The unit's ancestors from the root down (for breadcrumbs)."""
    ids = [int(part) for part in unit.path.strip(".").split(".")[:-1] if part]
    by_id = {u.pk: u for u in Unit.objects.filter(organisation_id=unit.organisation_id, pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def person_list(*, scope: Scope, search: str = "", unit_id: int | None = None) -> QuerySet[Person]:
    people = Person.objects.filter(organisation=scope.organisation).select_related(
        "unit", "supervisor"
    )
    if scope.role == Role.MANAGER and scope.unit_path:
        people = people.filter(unit__path__startswith=scope.unit_path)
    elif scope.role == Role.FRONTLINE:
        people = people.filter(user=scope.user)
    elif not scope.sees_whole_organisation:
        return people.none()
    if search:
        people = people.filter(
            Q(full_name__icontains=search)
            | Q(email__icontains=search)
            | Q(employee_number__iexact=search)
        )
    if unit_id is not None:
        unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        people = people.filter(unit__path__startswith=unit.path) if unit else people.none()
    return people.order_by("full_name", "pk")


def person_get(*, scope: Scope, person_id: int) -> Person:
    person = person_list(scope=scope).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person
