"""Importing the unit tree: `code,name,type,parent_code[,manager_employee_number]`.

A unit is matched by its code. Parents may come after their children in the file; a parent that is
neither in the file nor in the organisation, or a chain of parents that comes back to itself, is a
row error. Re-importing a unit under another parent moves it with its whole subtree. Unit types are
created from the `type` codes that do not exist yet. A column left out of the file leaves that field
of existing units as it is; an empty `manager_employee_number` keeps the current manager.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from sonda.accounts.access import CONFIGURE, Scope
from sonda.imports.csvfile import (
    ImportResult,
    RowErrorList,
    depth_of,
    find_cycle,
    on_row,
    read_table,
    text_value,
)
from sonda.org.models import Person, Unit
from sonda.org.selectors import person_list, unit_list, unit_type_list
from sonda.org.services import unit_create, unit_type_create, unit_update

REQUIRED = ("code", "name", "type")
OPTIONAL = ("parent_code", "manager_employee_number")
TYPE_CODE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")

# The services name their arguments; the file names its columns.
SERVICE_FIELD_COLUMNS = {
    "code": "code",
    "name": "name",
    "unit_type_id": "type",
    "parent_id": "parent_code",
    "manager_id": "manager_employee_number",
}


@dataclass(frozen=True)
class PlannedUnit:
    row: int
    code: str
    name: str
    type_code: str
    parent_code: str | None
    manager: Person | None


def units_import(*, scope: Scope, text: str, dry_run: bool = False) -> ImportResult:
    """Create or update the units of a CSV file: all rows or none (RowErrors lists why)."""
    scope.require(CONFIGURE, "import units")
    table = read_table(text, required=REQUIRED, optional=OPTIONAL)
    errors = RowErrorList()
    existing = {unit.code: unit for unit in unit_list(scope=scope).select_related("parent")}
    manager_numbers = {row.get("manager_employee_number") for row in table.rows} - {""}
    managers = {
        person.employee_number: person
        for person in person_list(scope=scope).filter(employee_number__in=manager_numbers)
    }

    planned: dict[str, PlannedUnit] = {}
    codes_in_file: set[str] = set()
    parent_references: list[tuple[int, str]] = []
    for row in table.rows:
        code = text_value(row, "code", errors, max_length=64, required=True)
        name = text_value(row, "name", errors, max_length=200, required=True)
        type_code = text_value(row, "type", errors, max_length=40, required=True)
        parent_code = text_value(row, "parent_code", errors, max_length=64)
        if code:
            codes_in_file.add(code)
        if parent_code and parent_code != code:
            parent_references.append((row.number, parent_code))
        manager_number = row.get("manager_employee_number")
        if type_code and not TYPE_CODE_RE.match(type_code):
            errors.add(row.number, "type", "use letters, digits, - or _ (e.g. branch)")
            type_code = None
        if code and code in planned:
            errors.add(row.number, "code", f"unit {code} is already on row {planned[code].row}")
            continue
        if code and parent_code == code:
            errors.add(row.number, "parent_code", "a unit cannot be its own parent")
            parent_code = None
        manager = managers.get(manager_number) if manager_number else None
        if manager_number and manager is None:
            errors.add(
                row.number,
                "manager_employee_number",
                f"no person with employee number {manager_number} (import people first)",
            )
        if code is None or name is None or type_code is None:
            continue
        planned[code] = PlannedUnit(
            row=row.number,
            code=code,
            name=name,
            type_code=type_code,
            parent_code=parent_code or None,
            manager=manager,
        )

    # The tree as it will be: the file's parents over the organisation's.
    parent_of: dict[str, str | None] = {
        code: unit.parent.code if unit.parent is not None else None
        for code, unit in existing.items()
    }
    for code, plan in planned.items():
        if table.has("parent_code") or code not in existing:
            parent_of[code] = plan.parent_code
    for number, parent in parent_references:
        if parent not in codes_in_file and parent not in existing:
            errors.add(
                number,
                "parent_code",
                f"no unit with code {parent} in the file or in the organisation",
            )
    for code, plan in planned.items():
        cycle = find_cycle(code, parent_of)
        if cycle is not None:
            errors.add(
                plan.row,
                "parent_code",
                f"the units would form a cycle: {' → '.join(cycle)}",
            )
    errors.raise_if_any()

    depths: dict[str, int] = {}
    ordered = sorted(planned.values(), key=lambda p: (depth_of(p.code, parent_of, depths), p.row))
    created = updated = unchanged = 0
    with transaction.atomic():
        unit_types = {t.code: t for t in unit_type_list(scope=scope)}
        units = dict(existing)
        for plan in ordered:
            with on_row(plan.row, SERVICE_FIELD_COLUMNS, "code"):
                if plan.type_code not in unit_types:
                    unit_types[plan.type_code] = unit_type_create(
                        scope=scope, code=plan.type_code, name=_type_name(plan.type_code)
                    )
                new_parent_code = parent_of[plan.code]
                new_parent = units[new_parent_code] if new_parent_code is not None else None
                unit = units.get(plan.code)
                if unit is None:
                    unit = unit_create(
                        scope=scope,
                        code=plan.code,
                        name=plan.name,
                        unit_type_id=unit_types[plan.type_code].pk,
                        parent_id=new_parent.pk if new_parent is not None else None,
                    )
                    if plan.manager is not None:
                        unit = unit_update(scope=scope, unit_id=unit.pk, manager_id=plan.manager.pk)
                    created += 1
                else:
                    changes = _changes(
                        unit,
                        plan,
                        unit_type_id=unit_types[plan.type_code].pk,
                        parent=new_parent,
                        move=table.has("parent_code"),
                    )
                    if changes:
                        unit = unit_update(scope=scope, unit_id=unit.pk, **changes)
                        updated += 1
                    else:
                        unchanged += 1
                units[plan.code] = unit
        if dry_run:
            transaction.set_rollback(True)
    return ImportResult(
        kind="units",
        rows=len(planned),
        created=created,
        updated=updated,
        unchanged=unchanged,
        dry_run=dry_run,
    )


def _changes(
    unit: Unit, plan: PlannedUnit, *, unit_type_id: int, parent: Unit | None, move: bool
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if unit.name != plan.name:
        changes["name"] = plan.name
    if unit.unit_type_id != unit_type_id:
        changes["unit_type_id"] = unit_type_id
    if move and unit.parent_id != (parent.pk if parent is not None else None):
        if parent is None:
            changes["move_to_root"] = True
        else:
            changes["parent_id"] = parent.pk
    if plan.manager is not None and unit.manager_id != plan.manager.pk:
        changes["manager_id"] = plan.manager.pk
    return changes


def _type_name(code: str) -> str:
    """`call-centre` → `Call centre`: a readable name until someone renames the type."""
    return code.replace("-", " ").replace("_", " ").capitalize()
