"""/problems and /functions: the problem taxonomy and the HQ functions that own its problems."""

import pytest

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.loop.models import Function, Problem, ProblemMapping
from sonda.loop.tests.loop_helpers import LABELS, make_bank

# Every member reads the taxonomy (managers code their cases with it); admins and analysts write.
READ = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 200,
    "frontline": 200,
    "manager_north": 200,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
WRITE = {**READ, "manager_south": 403, "frontline": 403, "manager_north": 403, "executive": 403}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def bank(world):
    return make_bank(world)


@pytest.fixture
def taxonomy(bank):
    billing = bank.function("Billing", email="billing@banca.example")
    process = bank.problem("process")
    waiting = bank.problem(
        "process.waiting", parent_id=process.pk, labels=LABELS, frontline_fixable=True
    )
    wrong_bill = bank.problem("billing.wrong", owner_function_id=billing.pk)
    return {"billing": billing, "process": process, "waiting": waiting, "wrong_bill": wrong_bill}


@pytest.mark.parametrize("who", CALLERS)
def test_who_reads_the_taxonomy(api, taxonomy, who):
    caller = api.as_(who)
    listed = caller.get("/problems")
    one = caller.get(f"/problems/{taxonomy['waiting'].pk}")
    assert one.status_code == READ[who]
    if who == "outsider":
        assert listed.json() == {"count": 0, "items": []}
    elif READ[who] == 200:
        codes = [item["code"] for item in listed.json()["items"]]
        # Tree order: the paths' order, so a child comes right after its parent. (Roots follow
        # their ids as text: on PostgreSQL, whose ids go on growing from test to test, "101."
        # may come before "99.".)
        made = [taxonomy[name] for name in ("process", "waiting", "wrong_bill")]
        assert all(p.path.endswith(f"{p.pk}.") for p in made)
        assert codes == [p.code for p in sorted(made, key=lambda p: p.path)]
        assert codes.index("process.waiting") == codes.index("process") + 1
        assert one.json()["parent_id"] == taxonomy["process"].pk
        assert one.json()["depth"] == 1
    else:
        problem_fields(one)


def test_a_problem_reads_in_the_callers_language(api, world, taxonomy):
    world.manager_north.language = "ro"
    world.manager_north.save(update_fields=["language"])
    body = api.as_("manager_north").get(f"/problems/{taxonomy['waiting'].pk}").json()
    assert body == {
        "id": taxonomy["waiting"].pk,
        "code": "process.waiting",
        "labels": LABELS,
        "label": "Timpul de așteptare",
        "parent_id": taxonomy["process"].pk,
        "depth": 1,
        "position": 0,
        "owner_function_id": None,
        "frontline_fixable": True,
        "is_active": True,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_creates_and_changes_problems(api, world, taxonomy, who):
    caller = api.as_(who)
    created = caller.post(
        "/problems",
        {"code": "staff.attitude", "labels": LABELS, "parent_id": None},
    )
    allowed = WRITE[who] == 200
    # The outsider's problem lands in their own organisation.
    assert created.status_code == (201 if allowed or who == "outsider" else WRITE[who])
    assert Problem.objects.filter(organisation=world.other_org).count() == (
        1 if who == "outsider" else 0
    )
    org_problems = Problem.objects.filter(organisation=world.org, code="staff.attitude")
    assert org_problems.count() == (1 if allowed else 0)
    changed = caller.patch(f"/problems/{taxonomy['waiting'].pk}", {"frontline_fixable": False})
    assert changed.status_code == WRITE[who]
    taxonomy["waiting"].refresh_from_db()
    assert taxonomy["waiting"].frontline_fixable is (not allowed)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"code": "Bad Code", "labels": LABELS}, ["code"]),
        ({"code": "staff", "labels": {"en": "Staff"}}, ["labels.ro", "labels.pl"]),
        ({"code": "staff", "labels": {**LABELS, "xx": "?"}}, ["labels.xx"]),
        ({"code": "staff", "labels": LABELS, "parent_id": 999_999}, ["parent_id"]),
        ({"code": "staff", "labels": LABELS, "owner_function_id": 999_999}, ["owner_function_id"]),
        ({"code": "process", "labels": LABELS}, ["code"]),
        ({"code": "staff", "labels": LABELS, "colour": "red"}, ["colour"]),
    ],
)
def test_a_problem_that_is_not_valid_names_its_field(api, world, taxonomy, body, fields):
    before = Problem.objects.count()
    response = api.as_("analyst").post("/problems", body)
    assert response.status_code in (409, 422)
    assert problem_fields(response) == fields
    assert Problem.objects.count() == before


def test_a_problem_cannot_move_under_its_own_branch(api, taxonomy):
    response = api.as_("analyst").patch(
        f"/problems/{taxonomy['process'].pk}", {"parent_id": taxonomy["waiting"].pk}
    )
    assert (response.status_code, problem_fields(response)) == (422, ["parent_id"])
    taxonomy["process"].refresh_from_db()
    assert taxonomy["process"].parent_id is None


def test_options_map_to_problems_and_back(api, bank, taxonomy):
    analyst = api.as_("analyst")
    body = {
        "survey_id": bank.survey.pk,
        "question_key": "reasons",
        "option_code": "waiting",
        "problem_id": taxonomy["waiting"].pk,
    }
    mapped = analyst.put("/problems/mappings", body)
    assert mapped.status_code == 200
    mapping = ProblemMapping.objects.get()
    assert mapped.json() == {"id": mapping.pk, **body}
    assert analyst.get("/problems/mappings").json()["count"] == 1
    wrong = analyst.put("/problems/mappings", {**body, "option_code": "parking"})
    assert (wrong.status_code, problem_fields(wrong)) == (422, ["option_code"])
    assert api.as_("manager_north").get("/problems/mappings").status_code == 403
    assert api.as_("manager_north").delete(f"/problems/mappings/{mapping.pk}").status_code == 403
    assert api.as_("outsider").delete(f"/problems/mappings/{mapping.pk}").status_code == 404
    assert analyst.delete(f"/problems/mappings/{mapping.pk}").status_code == 204
    assert not ProblemMapping.objects.exists()


# Functions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_reads_and_changes_functions(api, world, taxonomy, who):
    billing = taxonomy["billing"]
    caller = api.as_(who)
    read = caller.get(f"/functions/{billing.pk}")
    assert read.status_code == READ[who]
    if READ[who] == 200:
        assert read.json() == {
            "id": billing.pk,
            "name": "Billing",
            "description": "",
            "email": "billing@banca.example",
            "lead_id": None,
            "member_ids": [],
            "is_active": True,
        }
    changed = caller.patch(f"/functions/{billing.pk}", {"member_ids": [world.frontline.pk]})
    assert changed.status_code == WRITE[who]
    assert list(billing.members.values_list("pk", flat=True)) == (
        [world.frontline.pk] if WRITE[who] == 200 else []
    )


def test_a_function_is_created_with_its_members_and_names_what_is_wrong(api, world):
    analyst = api.as_("analyst")
    created = analyst.post(
        "/functions",
        {"name": "Logistics", "member_ids": [world.manager_north.pk], "email": "LOG@banca.example"},
    )
    assert created.status_code == 201
    assert created.json()["member_ids"] == [world.manager_north.pk]
    assert created.json()["email"] == "log@banca.example"
    again = analyst.post("/functions", {"name": "Logistics"})
    assert (again.status_code, problem_fields(again)) == (409, ["name"])
    stranger = analyst.post("/functions", {"name": "IT", "member_ids": [world.outsider.pk]})
    assert (stranger.status_code, problem_fields(stranger)) == (422, ["member_ids[0]"])
    assert list(Function.objects.values_list("name", flat=True)) == ["Logistics"]
