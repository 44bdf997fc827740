"""The unit tree, unit pages and people pages: what they show, forms and their errors."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.org.models import Person, Unit
from sonda.org.tests.factories import PersonFactory, UnitFactory


def test_the_tree_nests_units_in_details_with_the_top_open(world, signed_in):
    html = signed_in(world.admin).get(reverse("org:unit_tree")).content.decode()
    summaries = re.findall(r'<summary><span class="unit-name">([^<]+)</span>', html)
    assert summaries == ["Head office", "North", "South"]
    assert re.findall(r"<details( open)?>", html) == [" open", "", ""]
    leaves = re.findall(r'<a class="leaf" href="/org/units/\d+/">([^<]+)</a> <span', html)
    assert leaves == ["North 1", "South 1"]


def test_a_manager_tree_starts_at_their_unit(world, signed_in):
    html = signed_in(world.manager_north).get(reverse("org:unit_tree")).content.decode()
    assert re.findall(r'<summary><span class="unit-name">([^<]+)</span>', html) == ["North"]
    assert "South" not in html
    assert "Head office" not in html
    assert "New unit" not in html


def test_a_unit_page_has_breadcrumbs_children_and_people(world, signed_in):
    PersonFactory(organisation=world.org, unit=world.north, full_name="Nora North")
    html = signed_in(world.admin).get(reverse("org:unit_detail", args=[world.north.pk]))
    html = html.content.decode()
    crumbs = html.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs) == ["Units", "Head office", "North"]
    assert f'<a href="/org/units/{world.north_branch.pk}/">North 1</a>' in html
    assert "Nora North" in html
    assert "Ana Frontline" not in html  # works in North 1, not directly in North


def test_a_manager_sees_no_breadcrumbs_above_their_subtree(world, signed_in):
    response = signed_in(world.manager_north).get(
        reverse("org:unit_detail", args=[world.north_branch.pk])
    )
    crumbs = response.content.decode().split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs) == ["Units", "North", "North 1"]


def test_an_analyst_creates_a_unit_under_a_parent(world, signed_in):
    response = signed_in(world.analyst).post(
        reverse("org:unit_create"),
        {
            "code": "N2",
            "name": "North 2",
            "unit_type": world.north_branch.unit_type_id,
            "parent": world.north.pk,
        },
    )
    unit = Unit.objects.get(organisation=world.org, code="N2")
    assert response.status_code == 302
    assert response["Location"] == reverse("org:unit_detail", args=[unit.pk])
    assert (unit.parent_id, unit.path, unit.depth) == (
        world.north.pk,
        f"{world.north.path}{unit.pk}.",
        2,
    )


def test_a_duplicate_unit_code_is_shown_on_the_code_field_and_nothing_is_written(world, signed_in):
    before = Unit.objects.count()
    response = signed_in(world.admin).post(
        reverse("org:unit_create"),
        {"code": "N1", "name": "Again", "unit_type": world.north_branch.unit_type_id},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["a unit with code 'N1' already exists"]}
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_code_error">' in html
    # Screen readers hear the error when the field has the focus.
    code_input = re.search(r'<input [^>]*name="code"[^>]*>', html)
    assert code_input is not None
    assert 'aria-invalid="true"' in code_input.group(0)
    assert 'aria-describedby="id_code_error"' in code_input.group(0)
    assert Unit.objects.count() == before


def test_a_unit_form_refuses_missing_fields_and_unknown_choices(world, signed_in):
    before = Unit.objects.count()
    response = signed_in(world.admin).post(
        reverse("org:unit_create"), {"code": "", "name": "X", "unit_type": "999999"}
    )
    errors = response.context["form"].errors
    assert set(errors) == {"code", "unit_type"}
    assert Unit.objects.count() == before


def test_moving_a_unit_under_its_own_subtree_is_refused_on_the_parent_field(world, signed_in):
    response = signed_in(world.admin).post(
        reverse("org:unit_edit", args=[world.north.pk]),
        {
            "code": "N",
            "name": "North",
            "unit_type": world.north.unit_type_id,
            "parent": world.north_branch.pk,
        },
    )
    # The form does not offer the unit's own subtree as a parent at all.
    assert list(response.context["form"].errors) == ["parent"]
    assert Unit.objects.get(pk=world.north.pk).parent_id == world.hq.pk


def test_editing_a_unit_renames_moves_and_sets_its_manager(world, signed_in):
    boss = PersonFactory(organisation=world.org, unit=world.north_branch, full_name="Bob Boss")
    response = signed_in(world.analyst).post(
        reverse("org:unit_edit", args=[world.north_branch.pk]),
        {
            "code": "N1",
            "name": "North One",
            "unit_type": world.north_branch.unit_type_id,
            "parent": world.south.pk,
            "manager": boss.pk,
        },
    )
    assert response.status_code == 302
    unit = Unit.objects.get(pk=world.north_branch.pk)
    assert (unit.name, unit.parent_id, unit.manager_id) == ("North One", world.south.pk, boss.pk)
    assert unit.path == f"{world.south.path}{unit.pk}."


def test_a_unit_can_move_to_the_top_level(world, signed_in):
    signed_in(world.analyst).post(
        reverse("org:unit_edit", args=[world.south.pk]),
        {"code": "S", "name": "South", "unit_type": world.south.unit_type_id, "parent": ""},
    )
    unit = Unit.objects.get(pk=world.south.pk)
    assert (unit.parent_id, unit.depth, unit.path) == (None, 0, f"{unit.pk}.")


def test_people_are_searched_and_filtered_by_unit_subtree(world, signed_in):
    PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Ana South")
    PersonFactory(organisation=world.org, unit=world.north, full_name="Ben North")
    client = signed_in(world.admin)
    names = lambda response: re.findall(r'<a href="/org/people/\d+/">([^<]+)</a>', response)  # noqa: E731
    html = client.get(reverse("org:person_list"), {"q": "ana"}).content.decode()
    assert names(html) == ["Ana Frontline", "Ana South"]
    html = client.get(reverse("org:person_list"), {"unit": world.north.pk}).content.decode()
    assert names(html) == ["Ana Frontline", "Ben North"]
    html = client.get(reverse("org:person_list"), {"q": "ana", "unit": world.south.pk})
    assert names(html.content.decode()) == ["Ana South"]


def test_a_manager_lists_only_the_people_of_their_subtree(world, signed_in):
    PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Ana South")
    html = signed_in(world.manager_north).get(reverse("org:person_list")).content.decode()
    assert re.findall(r'<a href="/org/people/\d+/">([^<]+)</a>', html) == ["Ana Frontline"]


def list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name", ["org:person_list", "org:unit_tree"])
def test_list_pages_take_the_same_queries_however_many_rows(world, signed_in, url_name):
    client = signed_in(world.admin)
    url = reverse(url_name)
    PersonFactory.create_batch(3, organisation=world.org, unit=world.north_branch)
    few = list_queries(client, url)
    for index in range(20):
        unit = UnitFactory(
            organisation=world.org, parent=world.south, unit_type=world.south_branch.unit_type
        )
        boss = PersonFactory(organisation=world.org, unit=unit)
        PersonFactory(organisation=world.org, unit=unit, supervisor=boss, full_name=f"Z {index}")
    assert list_queries(client, url) == few
    assert few == {"org:person_list": 7, "org:unit_tree": 5}[url_name]


def test_the_people_list_is_paginated(world, signed_in, settings):
    settings.SONDA_PAGE_SIZE = 2
    PersonFactory.create_batch(4, organisation=world.org, unit=world.north_branch)
    html = signed_in(world.admin).get(reverse("org:person_list"), {"page": 3}).content.decode()
    assert "Page 3 of 3" in html
    assert '<a href="?page=2" rel="prev">Previous</a>' in html
    assert "5 results" in html


def test_a_person_page_shows_supervisor_and_reports(world, signed_in):
    boss = PersonFactory(organisation=world.org, unit=world.north, full_name="Maria Sef")
    world.frontline_person.supervisor = boss
    world.frontline_person.save()
    html = signed_in(world.manager_north).get(reverse("org:person_detail", args=[boss.pk]))
    html = html.content.decode()
    reports = html.split("Direct reports", 1)[1]
    assert f'<a href="/org/people/{world.frontline_person.pk}/">Ana Frontline</a>' in reports
    html = signed_in(world.manager_north).get(
        reverse("org:person_detail", args=[world.frontline_person.pk])
    )
    assert f'<a href="/org/people/{boss.pk}/">Maria Sef</a>' in html.content.decode()


def test_a_supervisor_outside_the_managers_subtree_is_named_but_not_linked(world, signed_in):
    ceo = PersonFactory(organisation=world.org, unit=world.hq, full_name="Carla Ceo")
    world.frontline_person.supervisor = ceo
    world.frontline_person.save()
    html = signed_in(world.manager_north).get(
        reverse("org:person_detail", args=[world.frontline_person.pk])
    )
    html = html.content.decode()
    assert "Carla Ceo" in html
    assert f"/org/people/{ceo.pk}/" not in html


def test_an_analyst_adds_a_person_with_a_supervisor_by_employee_number(world, signed_in):
    boss = PersonFactory(organisation=world.org, unit=world.north, employee_number="B-1")
    response = signed_in(world.analyst).post(
        reverse("org:person_create"),
        {
            "employee_number": "E-77",
            "full_name": "Nou Angajat",
            "email": "Nou@Bank.example",
            "job_title": "Teller",
            "unit": world.north_branch.pk,
            "supervisor": "B-1",
        },
    )
    person = Person.objects.get(organisation=world.org, employee_number="E-77")
    assert response["Location"] == reverse("org:person_detail", args=[person.pk])
    assert (person.full_name, person.email, person.unit_id, person.supervisor_id) == (
        "Nou Angajat",
        "nou@bank.example",
        world.north_branch.pk,
        boss.pk,
    )


def test_person_form_errors_name_their_field_and_write_nothing(world, signed_in):
    before = Person.objects.count()
    client = signed_in(world.analyst)
    response = client.post(
        reverse("org:person_create"),
        {
            "employee_number": world.frontline_person.employee_number,
            "full_name": "Twin",
            "unit": world.north_branch.pk,
        },
    )
    assert response.context["form"].errors == {
        "employee_number": [
            f"a person with number '{world.frontline_person.employee_number}' already exists"
        ]
    }
    response = client.post(
        reverse("org:person_create"),
        {"employee_number": "E-9", "full_name": "X", "unit": world.north.pk, "supervisor": "NOPE"},
    )
    assert response.context["form"].errors == {
        "supervisor": ["No person has this employee number."]
    }
    assert Person.objects.count() == before


def test_a_supervision_cycle_is_refused_on_the_supervisor_field(world, signed_in):
    boss = PersonFactory(
        organisation=world.org, unit=world.north, employee_number="B-1", supervisor=None
    )
    world.frontline_person.supervisor = boss
    world.frontline_person.save()
    response = signed_in(world.analyst).post(
        reverse("org:person_edit", args=[boss.pk]),
        {
            "full_name": boss.full_name,
            "unit": world.north.pk,
            "supervisor": world.frontline_person.employee_number,
            "is_active": "on",
        },
    )
    assert response.context["form"].errors == {
        "supervisor": ["this would make a supervision cycle"]
    }
    assert Person.objects.get(pk=boss.pk).supervisor_id is None


def test_editing_a_person_keeps_the_employee_number_and_clears_the_supervisor(world, signed_in):
    boss = PersonFactory(organisation=world.org, unit=world.north)
    world.frontline_person.supervisor = boss
    world.frontline_person.save()
    number = world.frontline_person.employee_number
    response = signed_in(world.admin).post(
        reverse("org:person_edit", args=[world.frontline_person.pk]),
        {
            "employee_number": "CHANGED",
            "full_name": "Ana F.",
            "email": "",
            "job_title": "Senior advisor",
            "unit": world.north.pk,
            "supervisor": "",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(pk=world.frontline_person.pk)
    assert (person.employee_number, person.full_name, person.job_title) == (
        number,
        "Ana F.",
        "Senior advisor",
    )
    assert (person.unit_id, person.supervisor_id, person.is_active) == (world.north.pk, None, False)


def test_roles_that_may_not_change_units_write_nothing(world, signed_in):
    for user in (world.executive, world.manager_north):
        response = signed_in(user).post(
            reverse("org:unit_create"),
            {"code": "X", "name": "X", "unit_type": world.north.unit_type_id},
        )
        assert response.status_code == 403
        response = signed_in(user).post(
            reverse("org:unit_edit", args=[world.north.pk]),
            {"code": "N", "name": "Renamed", "unit_type": world.north.unit_type_id},
        )
        assert response.status_code == 403
    assert not Unit.objects.filter(code="X").exists()
    assert Unit.objects.get(pk=world.north.pk).name == "North"
