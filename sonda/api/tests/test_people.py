"""/people: employees, their units and their direct supervisors over the API."""

import pytest

from sonda.api.testing import CALLERS, problem_fields
from sonda.org.models import Person
from sonda.org.tests.factories import PersonFactory


def person_json(person: Person) -> dict[str, object]:
    return {
        "id": person.pk,
        "employee_number": person.employee_number,
        "full_name": person.full_name,
        "email": person.email,
        "job_title": person.job_title,
        "unit": {"id": person.unit.pk, "code": person.unit.code, "name": person.unit.name},
        "supervisor_id": person.supervisor_id,
        "user_id": person.user_id,
        "is_active": person.is_active,
    }


# Ana, the frontline employee of north-1, as each caller sees her.
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
def test_who_may_read_a_person(api, world, who):
    response = api.as_(who).get(f"/people/{world.frontline_person.pk}")
    assert response.status_code == READ[who]
    if READ[who] == 200:
        assert response.json() == person_json(world.frontline_person)
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_person(api, world, who):
    response = api.as_(who).patch(
        f"/people/{world.frontline_person.pk}", {"job_title": "Senior advisor"}
    )
    assert response.status_code == WRITE[who]
    job_title = Person.objects.get(pk=world.frontline_person.pk).job_title
    assert job_title == ("Senior advisor" if WRITE[who] == 200 else "Advisor")


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_add_a_person(api, world, who):
    before = Person.objects.count()
    response = api.as_(who).post(
        "/people",
        {"employee_number": "E-NEW", "full_name": "Ion Popescu", "unit_id": world.north.pk},
    )
    # The stranger admin may add people, but not to our units.
    expected = {**WRITE, "outsider": 422}[who]
    assert response.status_code == (201 if expected == 200 else expected)
    assert Person.objects.count() == before + (1 if expected == 200 else 0)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_remove_a_person(api, world, who):
    person = PersonFactory(organisation=world.org, unit=world.north_branch)
    response = api.as_(who).delete(f"/people/{person.pk}")
    assert response.status_code == (204 if WRITE[who] == 200 else WRITE[who])
    assert Person.objects.filter(pk=person.pk).exists() == (WRITE[who] != 200)


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("outsider", []),
        ("manager_south", ["Sara South"]),
        ("frontline", ["Ana Frontline"]),
        ("manager_north", ["Ana Frontline", "Nick North"]),
        ("executive", ["Ana Frontline", "Nick North", "Sara South"]),
    ],
)
def test_each_caller_lists_the_people_in_their_scope(api, world, who, names):
    PersonFactory(organisation=world.org, unit=world.north, full_name="Nick North")
    PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Sara South")
    body = api.as_(who).get("/people").json()
    assert body["count"] == len(names)
    assert [p["full_name"] for p in body["items"]] == names


def test_people_are_found_by_name_email_or_number(api, world):
    PersonFactory(
        organisation=world.org,
        unit=world.south,
        full_name="Maria Ionescu",
        email="maria@bank.example",
        employee_number="E-77",
    )
    caller = api.as_("analyst")
    for search in ("ionescu", "MARIA@bank", "e-77"):
        items = caller.get("/people", search=search).json()["items"]
        assert [p["full_name"] for p in items] == ["Maria Ionescu"], search


def test_people_of_a_unit_include_its_whole_subtree(api, world):
    PersonFactory(organisation=world.org, unit=world.north, full_name="Nick North")
    PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Sara South")
    items = api.as_("analyst").get("/people", unit_id=world.north.pk).json()["items"]
    assert [p["full_name"] for p in items] == ["Ana Frontline", "Nick North"]


def test_listing_people_takes_the_same_queries_however_many_there_are(
    api, world, django_assert_max_num_queries
):
    boss = PersonFactory(organisation=world.org, unit=world.north)
    for _ in range(30):
        PersonFactory(organisation=world.org, unit=world.north_branch, supervisor=boss)
    caller = api.as_("analyst")
    caller.get("/people")
    # auth: token, membership, its user; then the count and one page with units joined.
    with django_assert_max_num_queries(5):
        response = caller.get("/people", limit=500)
    assert response.json()["count"] == 32


def test_a_person_is_added_with_their_supervisor(api, world):
    response = api.as_("analyst").post(
        "/people",
        {
            "employee_number": "E-9",
            "full_name": "Ion Popescu",
            "email": "Ion.Popescu@Bank.example",
            "job_title": "Teller",
            "unit_id": world.north_branch.pk,
            "supervisor_id": world.frontline_person.pk,
        },
    )
    assert response.status_code == 201
    person = Person.objects.get(organisation=world.org, employee_number="E-9")
    assert response.json() == person_json(person)
    assert (person.email, person.supervisor_id) == (
        "ion.popescu@bank.example",
        world.frontline_person.pk,
    )


def test_a_bad_email_is_refused_naming_the_field(api, world):
    response = api.as_("analyst").post(
        "/people",
        {"employee_number": "E-9", "full_name": "Ion", "unit_id": world.north.pk, "email": "ion@"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "email", "message": "is not an email address"}]
    assert not Person.objects.filter(employee_number="E-9").exists()


def test_a_duplicate_employee_number_is_a_conflict(api, world):
    response = api.as_("analyst").post(
        "/people",
        {
            "employee_number": world.frontline_person.employee_number,
            "full_name": "Twin",
            "unit_id": world.north.pk,
        },
    )
    assert response.status_code == 409
    assert problem_fields(response) == ["employee_number"]
    assert Person.objects.filter(organisation=world.org).count() == 1


def test_another_organisations_supervisor_is_refused(api, world):
    theirs = PersonFactory(organisation=world.other_org)
    response = api.as_("analyst").patch(
        f"/people/{world.frontline_person.pk}", {"supervisor_id": theirs.pk}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["supervisor_id"]
    assert Person.objects.get(pk=world.frontline_person.pk).supervisor_id is None


def test_a_supervision_cycle_is_refused(api, world):
    boss = PersonFactory(organisation=world.org, unit=world.north, supervisor=None)
    world.frontline_person.supervisor = boss
    world.frontline_person.save()
    response = api.as_("analyst").patch(
        f"/people/{boss.pk}", {"supervisor_id": world.frontline_person.pk}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["supervisor_id"]
    assert Person.objects.get(pk=boss.pk).supervisor_id is None


def test_a_null_supervisor_clears_it(api, world):
    boss = PersonFactory(organisation=world.org, unit=world.north)
    world.frontline_person.supervisor = boss
    world.frontline_person.save()
    response = api.as_("analyst").patch(
        f"/people/{world.frontline_person.pk}", {"supervisor_id": None}
    )
    assert response.status_code == 200
    assert response.json()["supervisor_id"] is None
    assert Person.objects.get(pk=world.frontline_person.pk).supervisor_id is None


def test_moving_a_person_to_another_unit(api, world):
    response = api.as_("admin").patch(
        f"/people/{world.frontline_person.pk}",
        {"unit_id": world.south_branch.pk, "is_active": False},
    )
    assert response.status_code == 200
    person = Person.objects.get(pk=world.frontline_person.pk)
    assert (person.unit_id, person.is_active) == (world.south_branch.pk, False)


def test_removing_a_supervisor_hands_their_reports_to_the_next_one_up(api, world):
    top = PersonFactory(organisation=world.org, unit=world.north)
    middle = PersonFactory(organisation=world.org, unit=world.north, supervisor=top)
    world.frontline_person.supervisor = middle
    world.frontline_person.save()
    assert api.as_("analyst").delete(f"/people/{middle.pk}").status_code == 204
    assert Person.objects.get(pk=world.frontline_person.pk).supervisor_id == top.pk
