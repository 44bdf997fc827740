"""Program pages: the list, creating and editing a program, and what its thresholds mean."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.surveys import services
from sonda.surveys.models import Program
from sonda.surveys.tests.factories import make_program, make_published_survey


def program_form(**changes):
    return {
        "name": "Relationship NPS",
        "kind": "relationship",
        "description": "Twice a year, the whole customer base.",
        "promoter_min": "9",
        "detractor_max": "6",
        "minimum_base": "30",
        "owner": "",
        **changes,
    }


def test_an_analyst_creates_a_program_with_its_thresholds_and_owner(world, client):
    client.force_login(world.analyst)
    response = client.post(
        reverse("surveys:program_create"),
        program_form(promoter_min="8", detractor_max="3", minimum_base="50", owner=world.admin.pk),
    )
    program = Program.objects.get(organisation=world.org)
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:program_detail", args=[program.pk])
    assert (
        program.name,
        program.kind,
        program.description,
        program.promoter_min,
        program.detractor_max,
        program.minimum_base,
        program.owner,
    ) == (
        "Relationship NPS",
        "relationship",
        "Twice a year, the whole customer base.",
        8,
        3,
        50,
        world.admin,
    )


def test_the_program_page_explains_its_loyalty_classes(world, client):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    services.program_update(scope=scope, program_id=program.pk, promoter_min=8, detractor_max=3)
    client.force_login(world.executive)
    html = client.get(reverse("surveys:program_detail", args=[program.pk])).content.decode()
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert facts["Promoters"] == "answers from 8 to 10"
    assert facts["Passives"] == "answers from 4 to 7"
    assert facts["Detractors"] == "answers from 0 to 3"
    assert facts["Minimum base"] == "a figure needs at least 30 answers"
    assert "Edit program" not in html  # executives read


def test_detractors_must_end_below_promoters_and_nothing_is_written(world, client):
    client.force_login(world.analyst)
    response = client.post(
        reverse("surveys:program_create"), program_form(promoter_min="7", detractor_max="7")
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "detractor_max": ["Detractors must end below the score where promoters begin."]
    }
    assert not Program.objects.exists()


def test_a_duplicate_program_name_is_shown_on_the_name_field(world, client):
    make_program(world.scope(world.analyst), name="Relationship NPS")
    client.force_login(world.admin)
    response = client.post(reverse("surveys:program_create"), program_form())
    assert response.context["form"].errors == {
        "name": ["a program named 'Relationship NPS' already exists"]
    }
    assert Program.objects.count() == 1


def test_the_owner_is_chosen_among_the_members(world, client):
    client.force_login(world.analyst)
    response = client.get(reverse("surveys:program_create"))
    owners = [label for value, label in response.context["form"].fields["owner"].choices if value]
    assert sorted(owners) == sorted(
        str(u)
        for u in (
            world.admin,
            world.analyst,
            world.executive,
            world.manager_north,
            world.manager_south,
            world.frontline,
        )
    )
    response = client.post(reverse("surveys:program_create"), program_form(owner=world.outsider.pk))
    assert list(response.context["form"].errors) == ["owner"]
    assert not Program.objects.exists()


def test_editing_changes_the_kind_and_thresholds(world, client):
    program = make_program(world.scope(world.analyst), name="Service NPS")
    client.force_login(world.admin)
    response = client.post(
        reverse("surveys:program_edit", args=[program.pk]),
        program_form(name="Service NPS", kind="relationship", detractor_max="4"),
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.kind, program.detractor_max, program.owner) == (
        "relationship",
        4,
        world.analyst,  # left empty: the owner stays
    )


def test_the_list_counts_surveys_with_a_fixed_number_of_queries(world, client):
    scope = world.scope(world.analyst)
    first = make_program(scope, name="A program")
    make_published_survey(scope, program=first, name="One")
    make_published_survey(scope, program=first, name="Two")
    client.force_login(world.executive)
    client.get(reverse("surveys:program_list"))  # warm the session and the menu
    with CaptureQueriesContext(connection) as one:
        html = client.get(reverse("surveys:program_list")).content.decode()
    for index in range(5):
        make_program(scope, name=f"Program {index}")
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("surveys:program_list"))
    assert len(six) == len(one)
    rows = re.findall(r'<a href="/surveys/programs/\d+/">([^<]+)</a></td>\s*<td>([^<]+)</td>', html)
    assert rows == [("A program", "Transactional (after interactions, bottom-up)")]
    assert re.search(r"<td>2</td>\s*</tr>", html)


@pytest.mark.parametrize("who", ["manager_north", "frontline"])
def test_managers_and_frontline_have_no_program_pages(world, client, who):
    program = make_program(world.scope(world.analyst))
    client.force_login(world.users_by_role[who])
    assert client.get(reverse("surveys:program_list")).status_code == 403
    assert client.get(reverse("surveys:program_detail", args=[program.pk])).status_code == 404
