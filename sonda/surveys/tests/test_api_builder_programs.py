"""/programs: listening programs over the API."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.surveys.models import Program
from sonda.surveys.tests.factories import make_program, make_published_survey

# Managers and frontline employees have no use for the builder: lists refuse them, objects are
# not found; executives read; admins and analysts write.
LIST = {
    "anonymous": 401,
    "outsider": 200,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
READ = {**LIST, "outsider": 404, "manager_south": 404, "frontline": 404, "manager_north": 404}
WRITE = {**READ, "executive": 403}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def program(world) -> Program:
    return make_program(world.scope(world.analyst), name="Service NPS")


def program_json(program: Program, **changes) -> dict[str, object]:
    return {
        "id": program.pk,
        "name": program.name,
        "kind": program.kind,
        "description": program.description,
        "promoter_min": program.promoter_min,
        "detractor_max": program.detractor_max,
        "minimum_base": program.minimum_base,
        "owner_id": program.owner_id,
        "survey_count": 0,
        "created_at": DjangoJSONEncoder().default(program.created_at),
        **changes,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_programs(api, world, program, who):
    response = api.as_(who).get("/programs")
    assert response.status_code == LIST[who]
    if who == "outsider":
        assert response.json() == {"count": 0, "items": []}
    elif response.status_code == 200:
        assert response.json() == {"count": 1, "items": [program_json(program)]}
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_program(api, program, who):
    response = api.as_(who).get(f"/programs/{program.pk}")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == program_json(program)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_program(api, program, who):
    response = api.as_(who).patch(f"/programs/{program.pk}", {"detractor_max": 3})
    assert response.status_code == WRITE[who]
    stored = Program.objects.get(pk=program.pk)
    assert stored.detractor_max == (3 if WRITE[who] == 200 else 6)
    if response.status_code == 200:
        assert response.json() == program_json(stored, detractor_max=3)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_program(api, world, who):
    response = api.as_(who).post("/programs", {"name": "Relationship NPS", "kind": "relationship"})
    allowed = who in {"analyst", "admin", "outsider"}  # the outsider's lands in their own
    expected = 201 if allowed else {"anonymous": 401}.get(who, 403)
    assert response.status_code == expected
    assert Program.objects.filter(name="Relationship NPS").count() == (1 if allowed else 0)
    if allowed:
        created = Program.objects.get(name="Relationship NPS")
        org = world.other_org if who == "outsider" else world.org
        assert created.organisation == org
        assert response.json() == program_json(created)
        assert (created.promoter_min, created.detractor_max, created.minimum_base) == (9, 6, 30)
        assert created.owner == world.users_by_role[who]


def test_a_program_is_created_with_its_thresholds_and_owner(api, world):
    response = api.as_("analyst").post(
        "/programs",
        {
            "name": "Relationship NPS",
            "kind": "relationship",
            "description": "Twice a year.",
            "promoter_min": 8,
            "detractor_max": 3,
            "minimum_base": 50,
            "owner_id": world.executive.pk,
        },
    )
    assert response.status_code == 201
    program = Program.objects.get(name="Relationship NPS")
    assert response.json() == program_json(program)
    assert (program.promoter_min, program.detractor_max, program.minimum_base, program.owner) == (
        8,
        3,
        50,
        world.executive,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "weekly"}, "kind"),
        ({"promoter_min": 11}, "promoter_min"),
        ({"promoter_min": 7, "detractor_max": 7}, "detractor_max"),
        ({"minimum_base": 0}, "minimum_base"),
        ({"owner_id": 999_999}, "owner_id"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
        ({"promoter_min": "nine"}, "promoter_min"),
    ],
)
def test_bad_program_input_names_the_field_and_writes_nothing(api, body, field):
    response = api.as_("analyst").post(
        "/programs", {"name": "Relationship NPS", "kind": "relationship", **body}
    )
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not Program.objects.exists()


def test_an_owner_from_another_organisation_is_refused(api, world, program):
    response = api.as_("analyst").patch(f"/programs/{program.pk}", {"owner_id": world.outsider.pk})
    assert response.status_code == 422
    assert problem_fields(response) == ["owner_id"]
    assert Program.objects.get(pk=program.pk).owner == world.analyst


def test_a_duplicate_name_is_a_conflict(api, world, program):
    response = api.as_("admin").post("/programs", {"name": "Service NPS", "kind": "relationship"})
    assert response.status_code == 409
    assert problem_fields(response) == ["name"]
    assert Program.objects.count() == 1


def test_null_is_refused_where_it_would_clear_a_required_value(api, program):
    response = api.as_("analyst").patch(f"/programs/{program.pk}", {"name": None})
    assert response.status_code == 422
    assert problem_fields(response) == ["name"]


def test_the_program_list_counts_surveys_with_a_fixed_number_of_queries(api, world, program):
    scope = world.scope(world.analyst)
    caller = api.as_("executive")
    caller.get("/programs")
    with CaptureQueriesContext(connection) as one:
        caller.get("/programs")
    for index in range(3):
        other = make_program(scope, name=f"Program {index}")
        make_published_survey(scope, program=other, name=f"Survey {index}")
    with CaptureQueriesContext(connection) as four:
        body = caller.get("/programs").json()
    assert len(four) == len(one)
    assert [(p["name"], p["survey_count"]) for p in body["items"]] == [
        ("Program 0", 1),
        ("Program 1", 1),
        ("Program 2", 1),
        ("Service NPS", 0),
    ]
