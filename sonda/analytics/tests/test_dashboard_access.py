"""Who may open which dashboard.

The organisation's readers (admins, analysts, executives) and managers open every dashboard;
a manager's figures count only their subtree (test_dashboard_pages). Frontline employees open
only the employee pages, which show their own results. An employee's page is not found for a
manager of another subtree, for another frontline employee and for another organisation.
Another organisation's members open their own (empty) dashboards and never see ours. Anonymous
visitors are sent to sign in.
"""

from urllib.parse import quote

import pytest
from django.urls import reverse

from sonda.analytics.tests.test_dashboard_pages import bank  # noqa: F401 - a fixture
from sonda.org.tests.factories import PersonFactory

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")
READERS = {"admin": 200, "analyst": 200, "executive": 200, "manager_north": 200}
PAGES = {
    "overview": {**READERS, "manager_south": 200, "frontline": 403, "outsider": 200},
    "units": {**READERS, "manager_south": 200, "frontline": 403, "outsider": 200},
    "employees": {**READERS, "manager_south": 200, "frontline": 200, "outsider": 200},
    "heatmap": {**READERS, "manager_south": 200, "frontline": 403, "outsider": 200},
    "below_average": {**READERS, "manager_south": 200, "frontline": 403, "outsider": 200},
}
# Ana works in North 1: the north manager and Ana herself read her page.
ANA = {**READERS, "manager_south": 404, "frontline": 200, "outsider": 404}


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_who_opens_each_dashboard(world, client, bank, name, role):  # noqa: F811
    client.force_login(world.users_by_role[role])
    response = client.get(reverse(f"dashboards:{name}"))
    assert response.status_code == PAGES[name][role]
    if role == "outsider":
        # Their own organisation has no survey: nothing of ours is shown.
        html = response.content.decode()
        assert "Measured" not in html
        assert "North 1" not in html
        assert "No published survey with a measured question yet." in html


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_an_employees_page(world, client, bank, role):  # noqa: F811
    client.force_login(world.users_by_role[role])
    url = reverse("dashboards:employee", args=[world.frontline_person.pk])
    assert client.get(url).status_code == ANA[role]


def test_a_frontline_employee_does_not_find_a_colleagues_page(world, client, bank):  # noqa: F811
    colleague = PersonFactory(
        organisation=world.org, unit=world.north_branch, full_name="Colleague"
    )
    client.force_login(world.frontline)
    assert client.get(reverse("dashboards:employee", args=[colleague.pk])).status_code == 404


@pytest.mark.parametrize("name", list(PAGES))
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    url = reverse(f"dashboards:{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


def test_the_dashboards_answer_only_get(world, client):
    client.force_login(world.analyst)
    assert client.post(reverse("dashboards:overview")).status_code == 405
