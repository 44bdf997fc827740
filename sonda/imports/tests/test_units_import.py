import pytest

from sonda.core.errors import PermissionDenied, RowErrors
from sonda.imports.tests.helpers import csv_file, problems
from sonda.imports.units import units_import
from sonda.org.models import Unit, UnitType
from sonda.org.tests.factories import PersonFactory

NEW_UNITS = csv_file(
    "code,name,type,parent_code",
    "N1-T1,Team 1,team,N1-Z",  # its parent comes later in the file
    "N1-Z,Zone North,zone,N1",
    "S2,South 2,branch,S",
)


def tree(org) -> dict[str, str | None]:
    return {
        u.code: u.parent.code if u.parent else None
        for u in Unit.objects.filter(organisation=org).select_related("parent")
    }


def test_a_file_creates_units_below_parents_that_come_later_and_new_unit_types(world):
    result = units_import(scope=world.scope(world.analyst), text=NEW_UNITS)

    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    team = Unit.objects.get(organisation=world.org, code="N1-T1")
    zone = Unit.objects.get(organisation=world.org, code="N1-Z")
    assert team.parent == zone
    assert team.path == f"{world.north_branch.path}{zone.pk}.{team.pk}."
    assert team.depth == 4
    assert Unit.objects.get(organisation=world.org, code="S2").path.startswith(world.south.path)
    assert dict(
        UnitType.objects.filter(organisation=world.org, code__in=["team", "zone"]).values_list(
            "code", "name"
        )
    ) == {"team": "Team", "zone": "Zone"}


def test_the_same_file_twice_changes_nothing_the_second_time(world):
    scope = world.scope(world.analyst)
    units_import(scope=scope, text=NEW_UNITS)
    before = tree(world.org)

    again = units_import(scope=scope, text=NEW_UNITS)

    assert (again.rows, again.created, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert tree(world.org) == before
    assert Unit.objects.filter(organisation=world.org).count() == 8


def test_a_unit_imported_under_another_parent_moves_with_its_subtree(world):
    scope = world.scope(world.analyst)
    units_import(scope=scope, text=NEW_UNITS)

    result = units_import(
        scope=scope,
        text=csv_file("code,name,type,parent_code", "N1,North One,branch,S"),
    )

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    north_branch = Unit.objects.get(pk=world.north_branch.pk)
    assert north_branch.name == "North One"
    assert north_branch.path == f"{world.south.path}{north_branch.pk}."
    team = Unit.objects.get(organisation=world.org, code="N1-T1")
    assert team.path.startswith(north_branch.path)
    assert team.depth == 4


def test_units_can_swap_places_in_one_file(world):
    # North goes under its own branch's former place: the file's tree is what counts, not the
    # order in which the rows move.
    result = units_import(
        scope=world.scope(world.analyst),
        text=csv_file(
            "code,name,type,parent_code",
            "N,North,region,N1",
            "N1,North 1,branch,HQ",
        ),
    )

    assert result.updated == 2
    assert tree(world.org)["N1"] == "HQ"
    assert tree(world.org)["N"] == "N1"
    north = Unit.objects.get(pk=world.north.pk)
    assert north.path == f"{world.hq.path}{world.north_branch.pk}.{north.pk}."


def test_an_empty_parent_makes_a_root_unit(world):
    units_import(
        scope=world.scope(world.analyst),
        text=csv_file("code,name,type,parent_code", "S,South,region,"),
    )
    south = Unit.objects.get(pk=world.south.pk)
    assert (south.parent, south.depth, south.path) == (None, 0, f"{south.pk}.")
    assert Unit.objects.get(pk=world.south_branch.pk).path == f"{south.pk}.{world.south_branch.pk}."


def test_without_a_parent_column_existing_units_keep_their_place(world):
    result = units_import(
        scope=world.scope(world.analyst),
        text=csv_file("code,name,type", "N1,Renamed,branch", "NEW,New root,company"),
    )
    assert (result.created, result.updated) == (1, 1)
    assert tree(world.org)["N1"] == "N"
    assert tree(world.org)["NEW"] is None


def test_a_unit_manager_is_set_by_employee_number(world):
    boss = PersonFactory(organisation=world.org, unit=world.north, employee_number="E-BOSS")
    units_import(
        scope=world.scope(world.analyst),
        text=csv_file(
            "code,name,type,parent_code,manager_employee_number", "N,North,region,HQ,E-BOSS"
        ),
    )
    assert Unit.objects.get(pk=world.north.pk).manager == boss


def test_broken_rows_are_reported_by_row_and_column_and_nothing_is_written(world):
    before = tree(world.org)
    types_before = UnitType.objects.count()
    broken = csv_file(
        "code,name,type,parent_code,manager_employee_number",
        "X1,Fine,team,N1,",
        "X2,,team,N1,",
        "X3,Orphan,team,NOWHERE,",
        "X1,Again,team,N1,",
        "X4,Bad type,te am,N1,",
        "X5,Self,team,X5,",
        "X6,Managed,team,N1,E-404",
        "X7," + "n" * 201 + ",team,N1,",
    )

    with pytest.raises(RowErrors) as error:
        units_import(scope=world.scope(world.analyst), text=broken)

    assert problems(error.value) == [
        (3, "name", "a value is required"),
        (4, "parent_code", "no unit with code NOWHERE in the file or in the organisation"),
        (5, "code", "unit X1 is already on row 2"),
        (6, "type", "use letters, digits, - or _ (e.g. branch)"),
        (7, "parent_code", "a unit cannot be its own parent"),
        (
            8,
            "manager_employee_number",
            "no person with employee number E-404 (import people first)",
        ),
        (9, "name", "is longer than 200 characters"),
    ]
    assert tree(world.org) == before
    assert UnitType.objects.count() == types_before


def test_a_cycle_of_parents_is_a_row_error_on_each_row_of_the_cycle(world):
    before = tree(world.org)
    with pytest.raises(RowErrors) as error:
        units_import(
            scope=world.scope(world.analyst),
            text=csv_file(
                "code,name,type,parent_code",
                "A,A,team,B",
                "B,B,team,A",
                "HQ,Head office,company,N1",  # under its own grandchild
            ),
        )
    assert problems(error.value) == [
        (2, "parent_code", "the units would form a cycle: A → B → A"),
        (3, "parent_code", "the units would form a cycle: B → A → B"),
        (4, "parent_code", "the units would form a cycle: HQ → N1 → N → HQ"),
    ]
    assert tree(world.org) == before


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "code,name,parent_code",
            [(1, "type", "the required column is missing from the header")],
        ),
        (
            "code,name,type,colour",
            [
                (
                    1,
                    "colour",
                    (
                        "unknown column (expected: code, name, type, "
                        "manager_employee_number, parent_code)"
                    ),
                )
            ],
        ),
        ("code,name,type,name", [(1, "name", "the column appears twice in the header")]),
    ],
)
def test_a_header_the_import_cannot_read_is_an_error_on_row_1(world, header, expected):
    with pytest.raises(RowErrors) as error:
        units_import(scope=world.scope(world.analyst), text=csv_file(header, "X,X,team"))
    assert problems(error.value) == expected
    assert not Unit.objects.filter(code="X").exists()


def test_a_row_with_more_values_than_columns_names_the_extra_column(world):
    with pytest.raises(RowErrors) as error:
        units_import(
            scope=world.scope(world.analyst),
            text=csv_file("code,name,type", "X,X,team,surplus"),
        )
    assert problems(error.value) == [
        (2, "column 4", "the row has 4 values but the header has 3 columns")
    ]


def test_rows_are_numbered_as_in_the_file_counting_blank_lines_and_a_byte_order_mark(world):
    text = "\ufeffCode,Name,Type\n\nX,,team\n"
    with pytest.raises(RowErrors) as error:
        units_import(scope=world.scope(world.analyst), text=text)
    assert problems(error.value) == [(3, "name", "a value is required")]


def test_a_dry_run_counts_but_writes_nothing(world):
    before = tree(world.org)
    result = units_import(scope=world.scope(world.analyst), text=NEW_UNITS, dry_run=True)
    assert (result.created, result.dry_run) == (3, True)
    assert tree(world.org) == before
    assert not UnitType.objects.filter(code="team").exists()


@pytest.mark.parametrize("role", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_import_units(world, role):
    before = tree(world.org)
    with pytest.raises(PermissionDenied):
        units_import(scope=world.scope(world.users_by_role[role]), text=NEW_UNITS)
    assert tree(world.org) == before


def test_parents_are_looked_up_in_the_importing_organisation_only(world):
    with pytest.raises(RowErrors) as error:
        units_import(
            scope=world.scope(world.outsider, world.other_org),
            text=csv_file("code,name,type,parent_code", "R1,Branch,branch,N1"),
        )
    assert problems(error.value) == [
        (2, "parent_code", "no unit with code N1 in the file or in the organisation")
    ]
    assert not Unit.objects.filter(organisation=world.other_org).exists()
