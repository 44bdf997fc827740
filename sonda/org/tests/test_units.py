import pytest

from sonda.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from sonda.org import selectors, services
from sonda.org.models import Unit


def test_a_new_unit_sits_below_its_parent(world):
    scope = world.scope(world.analyst)
    team = services.unit_create(
        scope=scope,
        code="N1-T1",
        name="Team 1",
        unit_type_id=world.north_branch.unit_type_id,
        parent_id=world.north_branch.pk,
    )
    assert team.path == f"{world.north_branch.path}{team.pk}."
    assert team.depth == 3
    assert [u.code for u in selectors.unit_ancestors(unit=team)] == ["HQ", "N", "N1"]


def test_moving_a_unit_moves_its_whole_subtree(world):
    scope = world.scope(world.analyst)
    services.unit_update(scope=scope, unit_id=world.north_branch.pk, parent_id=world.south.pk)
    north_branch = Unit.objects.get(pk=world.north_branch.pk)
    assert north_branch.path == f"{world.south.path}{north_branch.pk}."
    assert north_branch.depth == 2
    south_codes = {u.code for u in selectors.unit_list(scope=world.scope(world.manager_south))}
    assert south_codes == {"S", "S1", "N1"}


def test_a_unit_cannot_move_under_itself(world):
    scope = world.scope(world.analyst)
    with pytest.raises(ValidationFailed) as error:
        services.unit_update(scope=scope, unit_id=world.north.pk, parent_id=world.north_branch.pk)
    assert error.value.errors[0].field == "parent_id"
    assert Unit.objects.get(pk=world.north.pk).path == world.north.path


def test_duplicate_unit_code_is_a_conflict_naming_the_field(world):
    with pytest.raises(Conflict) as error:
        services.unit_create(
            scope=world.scope(world.analyst),
            code="N1",
            name="Again",
            unit_type_id=world.north.unit_type_id,
        )
    assert error.value.errors[0].field == "code"


def test_a_manager_sees_only_their_subtree(world):
    codes = {u.code for u in selectors.unit_list(scope=world.scope(world.manager_north))}
    assert codes == {"N", "N1"}
    with pytest.raises(NotFound):
        selectors.unit_get(scope=world.scope(world.manager_north), unit_id=world.south.pk)


def test_frontline_sees_their_own_unit_only(world):
    codes = {u.code for u in selectors.unit_list(scope=world.scope(world.frontline))}
    assert codes == {"N1"}


def test_a_manager_cannot_create_units(world):
    with pytest.raises(PermissionDenied):
        services.unit_create(
            scope=world.scope(world.manager_north),
            code="X",
            name="X",
            unit_type_id=world.north.unit_type_id,
        )
    assert not Unit.objects.filter(code="X").exists()
