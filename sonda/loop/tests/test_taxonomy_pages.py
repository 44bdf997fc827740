"""The problem taxonomy, HQ functions and option mappings through the pages."""

import pytest
from django.test import Client
from django.urls import reverse

from sonda.loop.models import Function, Problem, ProblemMapping
from sonda.loop.tests.loop_helpers import LABELS, make_bank

# HQ roles read the configuration pages; admins and analysts change them; managers and
# frontline employees are refused, and another organisation finds nothing.
READ = {
    "admin": 200,
    "analyst": 200,
    "executive": 200,
    "manager_north": 403,
    "frontline": 403,
    "outsider": 200,
}
PAGES = ["loop:problems", "loop:functions", "loop:mappings"]


@pytest.fixture
def bank(world):
    return make_bank(world)


@pytest.fixture
def taxonomy(bank):
    billing = bank.function("Billing")
    process = bank.problem("process")
    waiting = bank.problem("process.waiting", parent_id=process.pk, labels=LABELS)
    return {"billing": billing, "process": process, "waiting": waiting}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def problem_data(**changes) -> dict[str, str]:
    return {
        "code": "billing.wrong",
        "parent": "",
        "owner_function": "",
        "label_en": "Wrong bill",
        "label_ro": "Factură greșită",
        "label_pl": "Błędny rachunek",
        "position": "0",
        **changes,
    }


@pytest.mark.parametrize("who", sorted(READ))
@pytest.mark.parametrize("page", PAGES)
def test_who_reads_the_configuration_pages(world, taxonomy, who, page):
    response = browser(world.users_by_role[who]).get(reverse(page))
    assert response.status_code == READ[who]
    if who == "outsider":
        assert "process.waiting" not in response.content.decode()
        assert "Billing" not in response.content.decode()


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_change_the_taxonomy(world, taxonomy, who):
    client = browser(world.users_by_role[who])
    assert client.post(reverse("loop:problem_create"), problem_data()).status_code == 403
    edit = reverse("loop:problem_edit", args=[taxonomy["waiting"].pk])
    assert client.post(edit, problem_data(code="renamed")).status_code == 403
    assert client.post(reverse("loop:function_create"), {"name": "IT"}).status_code == 403
    assert not Problem.objects.filter(code__in=["billing.wrong", "renamed"]).exists()
    assert not Function.objects.filter(name="IT").exists()


def test_the_other_organisation_does_not_find_a_problem(world, taxonomy):
    edit = reverse("loop:problem_edit", args=[taxonomy["waiting"].pk])
    assert browser(world.outsider).get(edit).status_code == 404


def test_an_analyst_adds_a_problem_with_its_labels_and_owner(world, taxonomy):
    response = browser(world.analyst).post(
        reverse("loop:problem_create"),
        problem_data(
            parent=str(taxonomy["process"].pk),
            owner_function=str(taxonomy["billing"].pk),
            frontline_fixable="on",
        ),
    )
    assert response.status_code == 302
    problem = Problem.objects.get(code="billing.wrong")
    assert problem.labels == {
        "en": "Wrong bill",
        "ro": "Factură greșită",
        "pl": "Błędny rachunek",
    }
    assert (problem.parent, problem.owner_function, problem.frontline_fixable) == (
        taxonomy["process"],
        taxonomy["billing"],
        True,
    )
    listed = browser(world.analyst).get(reverse("loop:problems")).content.decode()
    assert "Factură greșită" in listed


def test_a_missing_label_is_shown_by_its_language(world, taxonomy):
    response = browser(world.analyst).post(
        reverse("loop:problem_create"), problem_data(label_pl="")
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["label_pl"]
    assert 'id="id_label_pl_error"' in response.content.decode()
    assert not Problem.objects.filter(code="billing.wrong").exists()


def test_a_duplicate_code_is_refused_by_the_code_field(world, taxonomy):
    response = browser(world.analyst).post(
        reverse("loop:problem_create"), problem_data(code="process")
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["a problem with this code already exists"]}


def test_a_problem_is_retired_and_moved_on_its_edit_page(world, taxonomy):
    client = browser(world.admin)
    edit = reverse("loop:problem_edit", args=[taxonomy["waiting"].pk])
    page = client.get(edit).content.decode()
    assert 'value="process.waiting"' in page
    # A problem cannot move under itself: its own branch is not offered as a parent.
    assert f'<option value="{taxonomy["waiting"].pk}"' not in page
    response = client.post(
        edit,
        problem_data(code="process.waiting", parent="", label_ro="Așteptare", is_active=""),
    )
    assert response.status_code == 302
    waiting = Problem.objects.get(pk=taxonomy["waiting"].pk)
    assert (waiting.parent, waiting.depth, waiting.is_active) == (None, 0, False)
    assert waiting.labels["ro"] == "Așteptare"


def test_a_function_is_created_with_members_and_edited(world, taxonomy):
    client = browser(world.analyst)
    response = client.post(
        reverse("loop:function_create"),
        {"name": "IT", "email": "it@banca.example", "members": [str(world.manager_north.pk)]},
    )
    assert response.status_code == 302
    it = Function.objects.get(name="IT")
    assert list(it.members.all()) == [world.manager_north]
    edit = reverse("loop:function_edit", args=[it.pk])
    response = client.post(edit, {"name": "IT", "email": "not an address", "is_active": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["not an email address"]}
    response = client.post(edit, {"name": "IT", "members": []})
    assert response.status_code == 302
    it.refresh_from_db()
    assert (list(it.members.all()), it.is_active) == ([], False)


def test_an_option_is_mapped_to_a_problem_and_unmapped(world, bank, taxonomy):
    client = browser(world.analyst)
    data = {
        "survey": str(bank.survey.pk),
        "question_key": "reasons",
        "option_code": "waiting",
        "problem": str(taxonomy["waiting"].pk),
    }
    wrong = client.post(reverse("loop:mappings"), {**data, "option_code": "parking"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors == {"option_code": ["no such option of the question"]}
    assert client.post(reverse("loop:mappings"), data).status_code == 302
    mapping = ProblemMapping.objects.get()
    assert (mapping.survey, mapping.problem) == (bank.survey, taxonomy["waiting"])
    delete = reverse("loop:mapping_delete", args=[mapping.pk])
    assert browser(world.executive).post(delete).status_code == 403
    assert browser(world.outsider).post(delete).status_code == 404
    assert client.post(delete).status_code == 302
    assert not ProblemMapping.objects.exists()
