"""/units and /unit-types: the unit tree over the API."""

import pytest

from sonda.api.testing import CALLERS, problem_fields
from sonda.org.models import Unit, UnitType
from sonda.org.tests.factories import PersonFactory, UnitFactory


def unit_json(unit: Unit) -> dict[str, object]:
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "unit_type": {
            "id": unit.unit_type.pk,
            "code": unit.unit_type.code,
            "name": unit.unit_type.name,
        },
        "parent_id": unit.parent_id,
        "depth": unit.depth,
        "manager_id": unit.manager_id,
    }


# What each caller gets for north-1, a branch in the north region (the frontline employee
# works there; manager_north manages the north region; manager_south the south one).
READ = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 404,
    "frontline": 200,
    "manager_north": 200,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
WRITE = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 200,
    "admin": 200,
}


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_unit(api, world, who):
    response = api.as_(who).get(f"/units/{world.north_branch.pk}")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == unit_json(world.north_branch)
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_rename_a_unit(api, world, who):
    response = api.as_(who).patch(f"/units/{world.north_branch.pk}", {"name": "North One"})
    assert response.status_code == WRITE[who]
    renamed = Unit.objects.get(pk=world.north_branch.pk).name
    assert renamed == ("North One" if WRITE[who] == 200 else "North 1")


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_unit(api, world, who):
    before = Unit.objects.count()
    response = api.as_(who).post(
        "/units",
        {
            "code": "N2",
            "name": "North 2",
            "unit_type_id": world.north_branch.unit_type_id,
            "parent_id": world.north.pk,
        },
    )
    # The stranger admin may create units, but not below our units nor of our unit types.
    expected = {**WRITE, "outsider": 422}[who]
    assert response.status_code == (201 if expected == 200 else expected)
    assert Unit.objects.count() == before + (1 if expected == 200 else 0)
    if who == "outsider":
        assert problem_fields(response) == ["unit_type_id"]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_delete_a_unit(api, world, who):
    empty = UnitFactory(
        organisation=world.org, code="EMPTY", unit_type=world.north.unit_type, parent=world.north
    )
    response = api.as_(who).delete(f"/units/{empty.pk}")
    assert response.status_code == (204 if WRITE[who] == 200 else WRITE[who])
    assert Unit.objects.filter(pk=empty.pk).exists() == (WRITE[who] != 200)


@pytest.mark.parametrize(
    ("who", "codes"),
    [
        ("outsider", []),
        ("manager_south", ["S", "S1"]),
        ("frontline", ["N1"]),
        ("manager_north", ["N", "N1"]),
        ("executive", ["HQ", "N", "N1", "S", "S1"]),
        ("analyst", ["HQ", "N", "N1", "S", "S1"]),
        ("admin", ["HQ", "N", "N1", "S", "S1"]),
    ],
)
def test_each_caller_lists_the_units_in_their_scope_in_tree_order(api, world, who, codes):
    response = api.as_(who).get("/units")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(codes)
    assert [unit["code"] for unit in body["items"]] == codes


def test_anonymous_cannot_list_units(api):
    response = api.as_("anonymous").get("/units")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="sonda"'
    problem_fields(response)


def test_the_children_of_a_unit(api, world):
    response = api.as_("analyst").get("/units", parent_id=world.hq.pk)
    assert [unit["code"] for unit in response.json()["items"]] == ["N", "S"]


def test_another_organisations_unit_has_no_children_here(api, world):
    theirs = UnitFactory(organisation=world.other_org, code="T")
    response = api.as_("analyst").get("/units", parent_id=theirs.pk)
    assert response.json() == {"count": 0, "items": []}


def test_units_come_in_pages(api, world):
    for n in range(3):
        UnitFactory(organisation=world.org, code=f"T{n}", unit_type=world.north.unit_type)
    first = api.as_("analyst").get("/units", limit=3, offset=0).json()
    second = api.as_("analyst").get("/units", limit=3, offset=3).json()
    assert (first["count"], second["count"]) == (8, 8)
    codes = [u["code"] for u in first["items"] + second["items"]]
    assert (
        codes == [u.code for u in Unit.objects.filter(organisation=world.org).order_by("path")][:6]
    )


def test_listing_units_takes_the_same_queries_however_many_there_are(
    api, world, django_assert_max_num_queries
):
    for n in range(40):
        UnitFactory(organisation=world.org, code=f"T{n}", unit_type=world.north.unit_type)
    caller = api.as_("analyst")
    caller.get("/units")  # the token's first use is recorded once a minute
    # auth: token, membership, its user; then the count and one page with its unit types.
    with django_assert_max_num_queries(5):
        response = caller.get("/units", limit=500)
    assert response.json()["count"] == 45


def test_a_unit_is_created_below_its_parent(api, world):
    response = api.as_("analyst").post(
        "/units",
        {
            "code": "N2",
            "name": "North 2",
            "unit_type_id": world.north_branch.unit_type_id,
            "parent_id": world.north.pk,
        },
    )
    assert response.status_code == 201
    created = Unit.objects.get(organisation=world.org, code="N2")
    assert response.json() == unit_json(created)
    assert created.path == f"{world.north.path}{created.pk}."


def test_moving_a_unit_changes_its_parent_and_its_subtree(api, world):
    response = api.as_("analyst").patch(f"/units/{world.north.pk}", {"parent_id": world.south.pk})
    assert response.status_code == 200
    assert (response.json()["parent_id"], response.json()["depth"]) == (world.south.pk, 2)
    branch = Unit.objects.get(pk=world.north_branch.pk)
    assert branch.path == f"{world.south.path}{world.north.pk}.{branch.pk}."
    assert branch.depth == 3


def test_a_null_parent_makes_a_unit_a_root(api, world):
    response = api.as_("analyst").patch(f"/units/{world.north.pk}", {"parent_id": None})
    assert response.status_code == 200
    north = Unit.objects.get(pk=world.north.pk)
    assert (north.parent_id, north.depth, north.path) == (None, 0, f"{north.pk}.")


def test_a_unit_cannot_move_into_its_own_subtree(api, world):
    response = api.as_("analyst").patch(
        f"/units/{world.north.pk}", {"parent_id": world.north_branch.pk}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["parent_id"]
    assert Unit.objects.get(pk=world.north.pk).parent_id == world.hq.pk


def test_a_name_cannot_be_emptied_with_null(api, world):
    response = api.as_("analyst").patch(f"/units/{world.north.pk}", {"name": None})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "name", "message": "may not be null"}]
    assert Unit.objects.get(pk=world.north.pk).name == "North"


def test_a_duplicate_unit_code_is_a_conflict(api, world):
    response = api.as_("analyst").patch(f"/units/{world.north.pk}", {"code": "S"})
    assert response.status_code == 409
    assert problem_fields(response) == ["code"]
    assert Unit.objects.get(pk=world.north.pk).code == "N"


def test_a_unit_with_people_cannot_be_deleted(api, world):
    response = api.as_("analyst").delete(f"/units/{world.north_branch.pk}")
    assert response.status_code == 409
    assert problem_fields(response) == ["unit"]
    assert Unit.objects.filter(pk=world.north_branch.pk).exists()


def test_a_unit_with_children_cannot_be_deleted(api, world):
    response = api.as_("analyst").delete(f"/units/{world.south.pk}")
    assert response.status_code == 409
    assert Unit.objects.filter(pk=world.south.pk).exists()


def test_a_manager_can_be_named_for_a_unit(api, world):
    person = PersonFactory(organisation=world.org, unit=world.north)
    response = api.as_("admin").patch(f"/units/{world.north.pk}", {"manager_id": person.pk})
    assert response.json()["manager_id"] == person.pk


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("manager_north", 200),
        ("frontline", 200),
        ("executive", 200),
        ("analyst", 200),
    ],
)
def test_every_member_reads_the_unit_types(api, world, who, status):
    response = api.as_(who).get("/unit-types")
    assert response.status_code == status
    if status == 200:
        assert [t["code"] for t in response.json()["items"]] == ["branch", "company", "region"]


def test_the_stranger_sees_none_of_our_unit_types(api):
    assert api.as_("outsider").get("/unit-types").json() == {"count": 0, "items": []}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("manager_south", 403),
        ("frontline", 403),
        ("manager_north", 403),
        ("executive", 403),
        ("analyst", 201),
        ("admin", 201),
    ],
)
def test_who_may_create_a_unit_type(api, world, who, status):
    response = api.as_(who).post("/unit-types", {"code": "team", "name": "Team"})
    assert response.status_code == status
    created = UnitType.objects.filter(organisation=world.org, code="team")
    assert created.exists() == (status == 201)
    if status == 201:
        assert response.json() == {"id": created.get().pk, "code": "team", "name": "Team"}


def test_a_unit_type_code_is_a_slug(api, world):
    response = api.as_("analyst").post("/unit-types", {"code": "call centre", "name": "Call"})
    assert response.status_code == 422
    assert problem_fields(response) == ["code"]


def test_a_duplicate_unit_type_is_a_conflict(api, world):
    response = api.as_("analyst").post("/unit-types", {"code": "branch", "name": "Again"})
    assert response.status_code == 409
    assert problem_fields(response) == ["code"]
    assert UnitType.objects.filter(organisation=world.org).count() == 3
