"""The customer page says, per recent event, why the customer was or was not invited."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from sonda.listening.ingest import events_ingest
from sonda.listening.models import Invitation
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.tests.factories import make_published_survey

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")
READERS = {**dict.fromkeys(ROLES, 404), "admin": 200, "analyst": 200, "executive": 200}


@pytest.fixture
def customer(world):
    """Two visits through a live rule and a monthly policy: invited, then skipped."""
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(survey=survey, name="After a visit")
    ContactRuleFactory(organisation=world.org, name="Once a month")
    customer = make_customer(world.org, email="ana@mail.example")
    now = datetime.now(UTC)
    result = events_ingest(
        scope=world.scope(world.admin),
        items=[
            {
                "type": "branch_visit",
                "occurred_at": (now - timedelta(hours=hours)).isoformat(),
                "customer_id": customer.pk,
                "unit_id": world.north_branch.pk,
                "source": "test",
                "source_id": f"visit-{hours}",
            }
            for hours in (2, 1)
        ],
    )
    assert result.created == 2
    return customer


def test_the_customer_page_explains_each_decision_in_words(world, client, customer):
    invitation = Invitation.objects.get(customer=customer)
    client.force_login(world.analyst)

    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    section = page[page.index("Why was / wasn") : page.index("Merges")]
    assert "Invited by the rule “After a visit”." in section
    assert f"Invitation {invitation.pk}: {invitation.get_status_display()}" in section
    assert "Not invited by the rule “After a visit”: The contact policy." in section
    assert "The contact rule “Once a month” fired." in section
    # Newest first: the skipped visit came second.
    assert section.index("Not invited") < section.index("Invited by")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_readers_of_customers_see_the_section(world, client, customer, role):
    client.force_login(world.users_by_role[role])
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == READERS[role]
