"""Who may open which listening report page.

The dry run is for those who configure listening (admins and analysts). Events, the planner and
non-responders are for the readers of the whole organisation; response rates and invitations
for managers too (their subtree). Managers and frontline employees are refused the events list
(403) and do not find an event (404); another organisation's event is not found either.
Anonymous visitors are sent to sign in.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.listening.models import Event
from sonda.listening.tests.listening_factories import EventFactory

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")


def allowed(*roles: str, outsider: int = 200, others: int = 403) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, others), **dict.fromkeys(roles, 200), "outsider": outsider}


WHOLE = ("admin", "analyst", "executive")
Url = Callable[[Event], str]
MATRIX: dict[str, tuple[Url, dict[str, int]]] = {
    "events": (lambda e: reverse("listening_reports:events"), allowed(*WHOLE)),
    "event": (
        lambda e: reverse("listening_reports:event", args=[e.pk]),
        allowed(*WHOLE, outsider=404, others=404),
    ),
    "dry run": (lambda e: reverse("listening_reports:simulate"), allowed("admin", "analyst")),
    "dry run with a result": (
        lambda e: (
            reverse("listening_reports:simulate")
            + "?date_from=2026-01-01&date_to=2026-01-31&margin_target=5"
        ),
        allowed("admin", "analyst"),
    ),
    "planner": (lambda e: reverse("listening_reports:planner"), allowed(*WHOLE)),
    "planner with a plan": (
        lambda e: reverse("listening_reports:planner") + "?margin=5",
        allowed(*WHOLE),
    ),
    "response rates": (
        lambda e: reverse("listening_reports:rates"),
        allowed(*WHOLE, "manager_north", "manager_south"),
    ),
    "invitations": (
        lambda e: reverse("listening_reports:invitations"),
        allowed(*WHOLE, "manager_north", "manager_south"),
    ),
    "non-responders": (lambda e: reverse("listening_reports:non_responders"), allowed(*WHOLE)),
    "non-responders CSV": (
        lambda e: reverse("listening_reports:non_responders_download"),
        allowed(*WHOLE),
    ),
}


@pytest.fixture
def event(world) -> Event:
    return EventFactory(
        organisation=world.org,
        occurred_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        unit=world.north_branch,
    )


@pytest.mark.parametrize("page", list(MATRIX))
def test_anonymous_visitors_are_sent_to_sign_in(world, event, client: Client, page):
    build, _expected = MATRIX[page]
    url = build(event)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(MATRIX))
def test_each_role_opens_only_the_report_pages_it_may_read(world, event, client, page, role):
    build, expected = MATRIX[page]
    client.force_login(world.users_by_role[role])
    response = client.get(build(event))
    assert response.status_code == expected[role]


def test_the_manager_of_the_events_unit_does_not_find_it_either(world, event, client):
    # The event is in North 1, inside manager_north's subtree: the report is still not theirs.
    client.force_login(world.manager_north)
    response = client.get(reverse("listening_reports:event", args=[event.pk]))
    assert response.status_code == 404
