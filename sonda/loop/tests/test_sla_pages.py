"""The "Overdue cases" and "SLA attainment" pages for every role.

The cases open on Monday 5 October 2026 and have missed both deadlines long before any run of
this suite, whose clock the pages read.
"""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.loop.models import Case
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import open_case

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")
PAGES = ("loop_sla:overdue", "loop_sla:attainment")
STATUS = {**dict.fromkeys(ROLES, 200), "frontline": 403}
SEEN = {
    "admin": {"anas", "bogdans", "ioanas"},
    "analyst": {"anas", "bogdans", "ioanas"},
    "executive": {"anas", "bogdans", "ioanas"},
    "manager_north": {"anas", "bogdans"},
    "manager_south": {"ioanas"},
    "outsider": set(),
}


@pytest.fixture
def cases(world) -> dict[str, Case]:
    bank = make_bank(world)
    return {
        "anas": open_case(bank, OPENED, employee_id=world.frontline_person.pk),
        "bogdans": open_case(bank, OPENED, employee_id=bank.bogdan.pk),
        "ioanas": open_case(bank, OPENED, employee_id=bank.ioana.pk),
    }


def case_links(content: str, cases: dict[str, Case]) -> set[str]:
    return {
        name
        for name, case in cases.items()
        if f'href="{reverse("loop:case", args=[case.pk])}"' in content
    }


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(world, client: Client, page):
    url = reverse(page)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_managers_and_head_office_open_the_pages_and_frontline_employees_do_not(
    world, cases, client, page, role
):
    client.force_login(world.users_by_role[role])
    assert client.get(reverse(page)).status_code == STATUS[role]


@pytest.mark.parametrize("role", [role for role in ROLES if role != "frontline"])
def test_the_overdue_page_lists_the_cases_of_the_readers_scope(world, cases, client, role):
    client.force_login(world.users_by_role[role])
    content = client.get(reverse("loop_sla:overdue")).content.decode()
    assert case_links(content, cases) == SEEN[role]


def test_the_overdue_page_says_what_was_missed_by_whom_and_narrows_to_a_unit(world, cases, client):
    client.force_login(world.analyst)
    response = client.get(reverse("loop_sla:overdue"), {"unit": world.south.pk})
    content = response.content.decode()
    assert case_links(content, cases) == {"ioanas"}
    assert "First contact, Resolution" in content
    assert str(world.manager_south) in content
    # A unit outside a manager's subtree is not one of their choices: the filter is left out.
    client.force_login(world.manager_north)
    content = client.get(reverse("loop_sla:overdue"), {"unit": world.south.pk}).content.decode()
    assert case_links(content, cases) == {"anas", "bogdans"}


def test_the_attainment_page_shows_every_figure_with_its_n(world, cases, client):
    client.force_login(world.analyst)
    response = client.get(
        reverse("loop_sla:attainment"),
        {"date_from": "2026-10-01", "date_to": "2026-10-31", "by": "unit"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "North 1 (N1)" in content
    assert "South 1 (S1)" in content
    assert "0 of 3 — too few cases (under 30)" in content
    assert "0 of 2 — too few cases (under 30)" in content


def test_a_period_that_ends_before_it_starts_is_shown_next_to_the_field(world, cases, client):
    client.force_login(world.manager_north)
    response = client.get(
        reverse("loop_sla:attainment"), {"date_from": "2026-10-31", "date_to": "2026-10-01"}
    )
    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors == {"date_to": ["must not be before the first day"]}
