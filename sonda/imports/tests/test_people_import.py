import pytest

from sonda.core.errors import PermissionDenied, RowErrors
from sonda.imports.people import people_import
from sonda.imports.tests.helpers import csv_file, problems
from sonda.org.models import Person
from sonda.org.tests.factories import PersonFactory

HEADER = "employee_number,full_name,email,job_title,unit_code,supervisor_employee_number"


def staff(org) -> dict[str, tuple[str, str, str | None]]:
    """employee number → (name, unit code, supervisor's number)."""
    return {
        p.employee_number: (
            p.full_name,
            p.unit.code,
            p.supervisor.employee_number if p.supervisor else None,
        )
        for p in Person.objects.filter(organisation=org).select_related("unit", "supervisor")
    }


@pytest.fixture
def team_file(world):
    return csv_file(
        HEADER + ",user_email",
        # Ioana's supervisor is further down the file; Mihai's is already in the organisation.
        "E100,Ioana Pop,Ioana.Pop@Banca.example,Advisor,N1,E200,",
        f"E101,Mihai Ionescu,,Teller,N1,{world.frontline_person.employee_number},",
        "E200,Elena Radu,elena@banca.example,Branch manager,N1,,north@banca.example",
    )


def test_a_file_creates_people_with_supervisors_later_in_the_file_or_in_the_database(
    world, team_file
):
    result = people_import(scope=world.scope(world.analyst), text=team_file)

    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    people = staff(world.org)
    assert people["E100"] == ("Ioana Pop", "N1", "E200")
    assert people["E101"] == ("Mihai Ionescu", "N1", world.frontline_person.employee_number)
    assert people["E200"] == ("Elena Radu", "N1", None)
    ioana = Person.objects.get(organisation=world.org, employee_number="E100")
    assert (ioana.email, ioana.job_title) == ("ioana.pop@banca.example", "Advisor")
    elena = Person.objects.get(organisation=world.org, employee_number="E200")
    assert elena.user == world.manager_north


def test_the_same_file_twice_changes_nothing_the_second_time(world, team_file):
    scope = world.scope(world.analyst)
    people_import(scope=scope, text=team_file)
    before = staff(world.org)

    again = people_import(scope=scope, text=team_file)

    assert (again.rows, again.created, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert staff(world.org) == before
    assert Person.objects.filter(organisation=world.org).count() == 4


def test_reimporting_updates_in_place_and_supervisors_may_swap(world, team_file):
    scope = world.scope(world.analyst)
    people_import(scope=scope, text=team_file)

    result = people_import(
        scope=scope,
        text=csv_file(
            HEADER,
            "E100,Ioana Pop-Radu,ioana.pop@banca.example,Senior advisor,S1,",
            "E200,Elena Radu,elena@banca.example,Branch manager,N1,E100",
        ),
    )

    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    people = staff(world.org)
    assert people["E100"] == ("Ioana Pop-Radu", "S1", None)
    assert people["E200"] == ("Elena Radu", "N1", "E100")
    assert Person.objects.get(employee_number="E100").job_title == "Senior advisor"


def test_an_account_already_linked_stays_linked_when_user_email_is_empty(world):
    number = world.frontline_person.employee_number
    people_import(
        scope=world.scope(world.analyst),
        text=csv_file(HEADER + ",user_email", f"{number},Ana Frontline,,,N1,,"),
    )
    assert Person.objects.get(pk=world.frontline_person.pk).user == world.frontline


def test_broken_rows_are_reported_by_row_and_column_and_nothing_is_written(world):
    PersonFactory(organisation=world.org, unit=world.north, employee_number="E-OLD")
    before = staff(world.org)
    linked = world.frontline_person.employee_number
    broken = csv_file(
        HEADER + ",user_email",
        "E1,Fine,,,N1,,",
        "E2,No unit,,,ZZ,,",
        "E3,Bad email,not-an-email,,N1,,",
        "E4,Unknown boss,,,N1,E-404,",
        "E5,Own boss,,,N1,E5,",
        "E1,Twice,,,N1,,",
        "E6,Stranger,,,N1,,admin@other.example",
        "E7,Taken account,,,N1,,frontline@banca.example",
        ",Nameless number,,,N1,,",
    )

    with pytest.raises(RowErrors) as error:
        people_import(scope=world.scope(world.analyst), text=broken)

    assert problems(error.value) == [
        (3, "unit_code", "no unit with code ZZ (import units first)"),
        (4, "email", "'not-an-email' is not an email address"),
        (
            5,
            "supervisor_employee_number",
            "no person with employee number E-404 in the file or in the organisation",
        ),
        (6, "supervisor_employee_number", "a person cannot supervise themselves"),
        (7, "employee_number", "employee E1 is already on row 2"),
        (8, "user_email", "no member of this organisation has the email admin@other.example"),
        (9, "user_email", f"frontline@banca.example is already linked to employee {linked}"),
        (10, "employee_number", "a value is required"),
    ]
    assert staff(world.org) == before


def test_a_supervision_cycle_through_the_database_is_a_row_error(world):
    PersonFactory(organisation=world.org, unit=world.north, employee_number="BOSS")
    PersonFactory(
        organisation=world.org,
        unit=world.north,
        employee_number="DEPUTY",
        supervisor=Person.objects.get(employee_number="BOSS"),
    )
    before = staff(world.org)
    with pytest.raises(RowErrors) as error:
        people_import(
            scope=world.scope(world.analyst),
            text=csv_file(HEADER, "BOSS,The boss,,,N,DEPUTY"),
        )
    assert problems(error.value) == [
        (
            2,
            "supervisor_employee_number",
            "the supervisors would form a cycle: BOSS → DEPUTY → BOSS",
        )
    ]
    assert staff(world.org) == before


@pytest.mark.parametrize("role", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_import_people(world, team_file, role):
    before = staff(world.org)
    with pytest.raises(PermissionDenied):
        people_import(scope=world.scope(world.users_by_role[role]), text=team_file)
    assert staff(world.org) == before


def test_units_and_supervisors_are_looked_up_in_the_importing_organisation_only(world):
    number = world.frontline_person.employee_number
    with pytest.raises(RowErrors) as error:
        people_import(
            scope=world.scope(world.outsider, world.other_org),
            text=csv_file(HEADER, f"X1,Someone,,,N1,{number}"),
        )
    assert problems(error.value) == [
        (2, "unit_code", "no unit with code N1 (import units first)"),
        (
            2,
            "supervisor_employee_number",
            f"no person with employee number {number} in the file or in the organisation",
        ),
    ]
    assert not Person.objects.filter(organisation=world.other_org).exists()
