"""Writes for unit types, units and people."""

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import User
from sonda.core.errors import Conflict, NotFound, ValidationFailed
from sonda.org.models import Person, Unit, UnitType


def unit_type_create(*, scope: Scope, code: str, name: str) -> UnitType:
    scope.require(CONFIGURE, "configure unit types")
    try:
        with transaction.atomic():
            return UnitType.objects.create(organisation=scope.organisation, code=code, name=name)
    except IntegrityError as exc:
        raise Conflict.on("code", f"a unit type '{code}' already exists") from exc


def _unit_of(scope: Scope, unit_id: int, field: str) -> Unit:
    unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
    if unit is None:
        raise ValidationFailed.on(field, f"no unit with id {unit_id}")
    return unit


def _unit_type_of(scope: Scope, unit_type_id: int) -> UnitType:
    unit_type = UnitType.objects.filter(organisation=scope.organisation, pk=unit_type_id).first()
    if unit_type is None:
        raise ValidationFailed.on("unit_type_id", f"no unit type with id {unit_type_id}")
    return unit_type


def unit_create(
    *,
    scope: Scope,
    code: str,
    name: str,
    unit_type_id: int,
    parent_id: int | None = None,
) -> Unit:
    scope.require(CONFIGURE, "create units")
    unit_type = _unit_type_of(scope, unit_type_id)
    parent = _unit_of(scope, parent_id, "parent_id") if parent_id is not None else None
    try:
        with transaction.atomic():
            unit = Unit.objects.create(
                organisation=scope.organisation,
                code=code,
                name=name,
                unit_type=unit_type,
                parent=parent,
                path="",
                depth=parent.depth + 1 if parent else 0,
            )
            unit.path = f"{parent.path if parent else ''}{unit.pk}."
            unit.save(update_fields=["path"])
    except IntegrityError as exc:
        raise Conflict.on("code", f"a unit with code '{code}' already exists") from exc
    return unit


def unit_update(
    *,
    scope: Scope,
    unit_id: int,
    name: str | None = None,
    code: str | None = None,
    unit_type_id: int | None = None,
    parent_id: int | None = None,
    move_to_root: bool = False,
    manager_id: int | None = None,
) -> Unit:
    """Change a unit; moving it re-roots its whole subtree in one statement."""
    scope.require(CONFIGURE, "change units")
    with transaction.atomic():
        unit = (
            Unit.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=unit_id)
            .first()
        )
        if unit is None:
            raise NotFound("No such unit.")
        fields = ["updated_at"]
        if name is not None:
            unit.name = name
            fields.append("name")
        if code is not None:
            unit.code = code
            fields.append("code")
        if unit_type_id is not None:
            unit.unit_type = _unit_type_of(scope, unit_type_id)
            fields.append("unit_type")
        if manager_id is not None:
            manager = Person.objects.filter(organisation=scope.organisation, pk=manager_id).first()
            if manager is None:
                raise ValidationFailed.on("manager_id", f"no person with id {manager_id}")
            unit.manager = manager
            fields.append("manager")
        if parent_id is not None or move_to_root:
            new_parent = _unit_of(scope, parent_id, "parent_id") if parent_id is not None else None
            if new_parent is not None and new_parent.path.startswith(unit.path):
                raise ValidationFailed.on("parent_id", "a unit cannot move under its own subtree")
            _unit_move(unit, new_parent)
        try:
            unit.save(update_fields=fields)
        except IntegrityError as exc:
            raise Conflict.on("code", f"a unit with code '{code}' already exists") from exc
    unit.refresh_from_db()
    return unit


def _unit_move(unit: Unit, new_parent: Unit | None) -> None:
    old_path, old_depth = unit.path, unit.depth
    new_path = f"{new_parent.path if new_parent else ''}{unit.pk}."
    new_depth = new_parent.depth + 1 if new_parent else 0
    # Every descendant keeps its path below the unit; only the prefix changes.
    Unit.objects.filter(organisation_id=unit.organisation_id, path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + (new_depth - old_depth),
    )
    Unit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.parent = new_parent
    unit.path = new_path
    unit.depth = new_depth


def unit_delete(*, scope: Scope, unit_id: int) -> None:
    scope.require(CONFIGURE, "delete units")
    with transaction.atomic():
        unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        if unit is None:
            raise NotFound("No such unit.")
        if unit.children.exists():
            raise Conflict.on("unit", "the unit has child units; move or delete them first")
        if unit.people.exists():
            raise Conflict.on("unit", "people work in this unit; move them first")
        unit.delete()


def _person_of(scope: Scope, person_id: int, field: str) -> Person:
    person = Person.objects.filter(organisation=scope.organisation, pk=person_id).first()
    if person is None:
        raise ValidationFailed.on(field, f"no person with id {person_id}")
    return person


def _check_supervisor_chain(person: Person, supervisor: Person | None) -> None:
    """A supervisor chain must end: nobody supervises themselves, directly or through others."""
    seen = {person.pk}
    current = supervisor
    while current is not None:
        if current.pk in seen:
            raise ValidationFailed.on("supervisor_id", "this would make a supervision cycle")
        seen.add(current.pk)
        current = current.supervisor


def person_create(
    *,
    scope: Scope,
    employee_number: str,
    full_name: str,
    unit_id: int,
    email: str = "",
    job_title: str = "",
    supervisor_id: int | None = None,
    user: User | None = None,
) -> Person:
    scope.require(CONFIGURE, "add people")
    unit = _unit_of(scope, unit_id, "unit_id")
    supervisor = _person_of(scope, supervisor_id, "supervisor_id") if supervisor_id else None
    try:
        with transaction.atomic():
            return Person.objects.create(
                organisation=scope.organisation,
                employee_number=employee_number,
                full_name=full_name,
                email=email.lower(),
                job_title=job_title,
                unit=unit,
                supervisor=supervisor,
                user=user,
            )
    except IntegrityError as exc:
        raise Conflict.on(
            "employee_number", f"a person with number '{employee_number}' already exists"
        ) from exc


def person_update(
    *,
    scope: Scope,
    person_id: int,
    full_name: str | None = None,
    email: str | None = None,
    job_title: str | None = None,
    unit_id: int | None = None,
    supervisor_id: int | None = None,
    clear_supervisor: bool = False,
    is_active: bool | None = None,
) -> Person:
    scope.require(CONFIGURE, "change people")
    with transaction.atomic():
        person = (
            Person.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=person_id)
            .first()
        )
        if person is None:
            raise NotFound("No such person.")
        fields = ["updated_at"]
        if full_name is not None:
            person.full_name = full_name
            fields.append("full_name")
        if email is not None:
            person.email = email.lower()
            fields.append("email")
        if job_title is not None:
            person.job_title = job_title
            fields.append("job_title")
        if unit_id is not None:
            person.unit = _unit_of(scope, unit_id, "unit_id")
            fields.append("unit")
        if is_active is not None:
            person.is_active = is_active
            fields.append("is_active")
        if clear_supervisor:
            person.supervisor = None
            fields.append("supervisor")
        elif supervisor_id is not None:
            supervisor = _person_of(scope, supervisor_id, "supervisor_id")
            _check_supervisor_chain(person, supervisor)
            person.supervisor = supervisor
            fields.append("supervisor")
        person.save(update_fields=fields)
    return person


def person_delete(*, scope: Scope, person_id: int) -> None:
    scope.require(CONFIGURE, "delete people")
    with transaction.atomic():
        person = Person.objects.filter(organisation=scope.organisation, pk=person_id).first()
        if person is None:
            raise NotFound("No such person.")
        person.reports.update(supervisor=person.supervisor)
        person.delete()
