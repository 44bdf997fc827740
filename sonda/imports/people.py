"""Importing people (employees with their unit and direct supervisor) from CSV.

Columns: `employee_number,full_name,email,job_title,unit_code,supervisor_employee_number`, and
optionally `user_email`.

A person is matched by employee number. A supervisor may be later in the file or already in the
organisation; a chain of supervisors that comes back to itself is a row error. The optional
`user_email` links the person to the account of a member of the organisation. A column left out of
the file leaves that field of existing people as it is; an empty `supervisor_employee_number` in a
file that has the column means "no supervisor"; an empty `user_email` keeps any existing link.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import User
from sonda.imports.csvfile import (
    ImportResult,
    RowErrorList,
    depth_of,
    find_cycle,
    on_row,
    read_table,
    text_value,
)
from sonda.imports.selectors import member_users_by_email
from sonda.org.models import Person, Unit
from sonda.org.selectors import person_list, unit_list
from sonda.org.services import person_create, person_update

REQUIRED = ("employee_number", "full_name", "unit_code")
OPTIONAL = ("email", "job_title", "supervisor_employee_number", "user_email")

SERVICE_FIELD_COLUMNS = {
    "employee_number": "employee_number",
    "full_name": "full_name",
    "email": "email",
    "job_title": "job_title",
    "unit_id": "unit_code",
    "supervisor_id": "supervisor_employee_number",
}


@dataclass(frozen=True)
class PlannedPerson:
    row: int
    employee_number: str
    full_name: str
    unit: Unit
    email: str
    job_title: str
    user: User | None


def people_import(*, scope: Scope, text: str, dry_run: bool = False) -> ImportResult:
    """Create or update the people of a CSV file: all rows or none (RowErrors lists why)."""
    scope.require(CONFIGURE, "import people")
    table = read_table(text, required=REQUIRED, optional=OPTIONAL)
    errors = RowErrorList()
    units = {unit.code: unit for unit in unit_list(scope=scope)}
    existing = {person.employee_number: person for person in person_list(scope=scope)}
    users = member_users_by_email(
        scope=scope, emails=[row.get("user_email") for row in table.rows if row.get("user_email")]
    )
    linked_to = {p.user_id: number for number, p in existing.items() if p.user_id is not None}

    planned: dict[str, PlannedPerson] = {}
    supervisor_in_file: dict[str, str | None] = {}
    user_rows: dict[int, int] = {}
    numbers_in_file: set[str] = set()
    supervisor_references: list[tuple[int, str]] = []
    for row in table.rows:
        number = text_value(row, "employee_number", errors, max_length=64, required=True)
        full_name = text_value(row, "full_name", errors, max_length=200, required=True)
        email = text_value(row, "email", errors, max_length=254)
        job_title = text_value(row, "job_title", errors, max_length=200)
        unit_code = text_value(row, "unit_code", errors, max_length=64, required=True)
        supervisor = text_value(row, "supervisor_employee_number", errors, max_length=64)
        user_email = row.get("user_email").lower()
        if number:
            numbers_in_file.add(number)
        if supervisor and supervisor != number:
            supervisor_references.append((row.number, supervisor))
        if number and number in planned:
            errors.add(
                row.number,
                "employee_number",
                f"employee {number} is already on row {planned[number].row}",
            )
            continue
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.add(row.number, "email", f"'{email}' is not an email address")
                email = None
        unit = units.get(unit_code) if unit_code else None
        if unit_code and unit is None:
            errors.add(
                row.number, "unit_code", f"no unit with code {unit_code} (import units first)"
            )
        if number and supervisor == number:
            errors.add(
                row.number, "supervisor_employee_number", "a person cannot supervise themselves"
            )
            supervisor = None
        user = users.get(user_email) if user_email else None
        if user_email and user is None:
            errors.add(
                row.number,
                "user_email",
                f"no member of this organisation has the email {user_email}",
            )
        elif user is not None:
            if user.pk in user_rows:
                errors.add(
                    row.number,
                    "user_email",
                    f"{user_email} is already linked on row {user_rows[user.pk]}",
                )
            elif linked_to.get(user.pk, number) != number:
                errors.add(
                    row.number,
                    "user_email",
                    f"{user_email} is already linked to employee {linked_to[user.pk]}",
                )
            user_rows[user.pk] = row.number
        if number is None or full_name is None or unit is None or email is None:
            continue
        if job_title is None or supervisor is None:
            continue
        planned[number] = PlannedPerson(
            row=row.number,
            employee_number=number,
            full_name=full_name,
            unit=unit,
            email=email.lower(),
            job_title=job_title,
            user=user,
        )
        supervisor_in_file[number] = supervisor or None

    # Supervision as it will be: the file's supervisors over the organisation's.
    supervisor_of: dict[str, str | None] = {
        number: person.supervisor.employee_number if person.supervisor is not None else None
        for number, person in existing.items()
    }
    for number in planned:
        if table.has("supervisor_employee_number") or number not in existing:
            supervisor_of[number] = supervisor_in_file[number]
    for row_number, reference in supervisor_references:
        if reference not in numbers_in_file and reference not in existing:
            errors.add(
                row_number,
                "supervisor_employee_number",
                f"no person with employee number {reference} in the file or in the organisation",
            )
    for number, plan in planned.items():
        cycle = find_cycle(number, supervisor_of)
        if cycle is not None:
            errors.add(
                plan.row,
                "supervisor_employee_number",
                f"the supervisors would form a cycle: {' → '.join(cycle)}",
            )
    errors.raise_if_any()

    created = updated = unchanged = 0
    depths: dict[str, int] = {}
    with transaction.atomic():
        people = dict(existing)
        changed: set[str] = set()
        # New people in supervision order, each with their supervisor, who exists by then.
        new = [plan for number, plan in planned.items() if number not in existing]
        new.sort(key=lambda p: (depth_of(p.employee_number, supervisor_of, depths), p.row))
        for plan in new:
            supervisor_number = supervisor_of[plan.employee_number]
            with on_row(plan.row, SERVICE_FIELD_COLUMNS, "employee_number"):
                people[plan.employee_number] = person_create(
                    scope=scope,
                    employee_number=plan.employee_number,
                    full_name=plan.full_name,
                    unit_id=plan.unit.pk,
                    email=plan.email,
                    job_title=plan.job_title,
                    supervisor_id=people[supervisor_number].pk if supervisor_number else None,
                    user=plan.user,
                )
            created += 1
        updates = [plan for number, plan in planned.items() if number in existing]
        for plan in updates:
            person = existing[plan.employee_number]
            changes = _changes(person, plan, table.columns)
            with on_row(plan.row, SERVICE_FIELD_COLUMNS, "employee_number"):
                if changes:
                    person_update(scope=scope, person_id=person.pk, **changes)
                    changed.add(plan.employee_number)
                if plan.user is not None and person.user_id != plan.user.pk:
                    # person_update has no way to link an account; the checks above made it safe.
                    Person.objects.filter(pk=person.pk).update(user=plan.user)
                    changed.add(plan.employee_number)
        # Supervisors move in two steps so that no intermediate state forms a cycle: first every
        # changing link is cut, then the new links are made.
        moving = [
            plan
            for plan in updates
            if _supervisor_number(existing[plan.employee_number])
            != supervisor_of[plan.employee_number]
        ]
        for plan in moving:
            with on_row(plan.row, SERVICE_FIELD_COLUMNS, "employee_number"):
                person_update(
                    scope=scope,
                    person_id=existing[plan.employee_number].pk,
                    clear_supervisor=True,
                )
        for plan in moving:
            supervisor_number = supervisor_of[plan.employee_number]
            if supervisor_number is None:
                continue
            with on_row(plan.row, SERVICE_FIELD_COLUMNS, "employee_number"):
                person_update(
                    scope=scope,
                    person_id=existing[plan.employee_number].pk,
                    supervisor_id=people[supervisor_number].pk,
                )
        changed.update(plan.employee_number for plan in moving)
        updated = len(changed)
        unchanged = len(updates) - updated
        if dry_run:
            transaction.set_rollback(True)
    return ImportResult(
        kind="people",
        rows=len(planned),
        created=created,
        updated=updated,
        unchanged=unchanged,
        dry_run=dry_run,
    )


def _supervisor_number(person: Person) -> str | None:
    return person.supervisor.employee_number if person.supervisor is not None else None


def _changes(person: Person, plan: PlannedPerson, columns: tuple[str, ...]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if person.full_name != plan.full_name:
        changes["full_name"] = plan.full_name
    if person.unit_id != plan.unit.pk:
        changes["unit_id"] = plan.unit.pk
    if "email" in columns and person.email != plan.email:
        changes["email"] = plan.email
    if "job_title" in columns and person.job_title != plan.job_title:
        changes["job_title"] = plan.job_title
    return changes
