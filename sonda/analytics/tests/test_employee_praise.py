"""The employee page counts the positive responses that named the employee (the loop's praise)."""

from datetime import timedelta

import pytest

from sonda.analytics.tests.test_dashboard_pages import bank, page  # noqa: F401 - a fixture
from sonda.loop.models import Praise, PraiseSource
from sonda.surveys.models import Response


@pytest.fixture
def praised(world, bank):  # noqa: F811
    """Ana was praised in three of her responses, one of them long before the period."""
    hers = list(Response.objects.filter(employee=world.frontline_person).order_by("pk")[:3])
    for response in hers:
        Praise.objects.create(
            organisation=world.org,
            response=response,
            employee=world.frontline_person,
            source=PraiseSource.TEXT,
        )
    old = hers[2]
    assert old.completed_at is not None
    Response.objects.filter(pk=old.pk).update(completed_at=old.completed_at - timedelta(days=800))
    return hers


@pytest.mark.parametrize("who", ["analyst", "manager_north", "frontline"])
def test_the_employee_page_counts_the_praise_of_the_period(client, world, praised, who):
    html = page(client, world.users_by_role[who], "employee", world.frontline_person.pk)
    assert "Praised by name in 2 positive responses in this period." in html
    assert ('href="/loop/coaching/"' in html) == (who == "frontline")


def test_another_subtree_never_reads_the_employees_page(client, world, praised):
    client.force_login(world.manager_south)
    from django.urls import reverse

    response = client.get(reverse("dashboards:employee", args=[world.frontline_person.pk]))
    assert response.status_code == 404
