"""What the listening report pages show: events and their decisions, the dry run, the planner,
response rates, invitations and the customers who stopped answering."""

import csv
import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.listening.ingest import events_ingest
from sonda.listening.models import Event, Invitation, InvitationDecision, RuleStatus
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.listening.tests.test_rates import invite
from sonda.surveys.responses import ResponseContext, response_submit
from sonda.surveys.tests.factories import make_published_survey

JANUARY_5 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# Events ----------------------------------------------------------------------------------------


@pytest.fixture
def decided(world, survey):
    """Two events of one customer through a live rule and a monthly policy: the first invites,
    the second is skipped by the policy."""
    TriggerRuleFactory(survey=survey, name="After a visit")
    ContactRuleFactory(organisation=world.org, name="Once a month")
    customer = make_customer(world.org, email="ana@mail.example")
    now = datetime.now(UTC)
    items = [
        {
            "type": "branch_visit",
            "occurred_at": (now - timedelta(hours=hours)).isoformat(),
            "customer_id": customer.pk,
            "unit_id": world.north_branch.pk,
            "channel": "branch",
            "source": "test",
            "source_id": f"visit-{hours}",
        }
        for hours in (2, 1)
    ]
    result = events_ingest(scope=world.scope(world.admin), items=items)
    assert result.created == 2
    return customer


def test_the_events_page_lists_the_newest_first_and_filters_by_type_and_channel(
    world, client, decided
):
    call = EventFactory(
        organisation=world.org,
        event_type="call_completed",
        channel="phone",
        occurred_at=JANUARY_5,
        unit=world.south_branch,
    )
    client.force_login(world.executive)

    everything = text(client.get(reverse("listening_reports:events")))
    calls = text(client.get(reverse("listening_reports:events"), {"channel": "phone"}))
    visits = text(client.get(reverse("listening_reports:events"), {"event_type": "branch_visit"}))

    newest, older = Event.objects.filter(event_type="branch_visit").order_by("-occurred_at")
    assert everything.index(f"#{newest.pk}<") < everything.index(f"#{older.pk}<")
    assert everything.index(f"#{older.pk}<") < everything.index(f"#{call.pk}<")
    assert f"#{call.pk}<" in calls
    assert f"#{newest.pk}<" not in calls
    assert f"#{call.pk}<" not in visits
    assert f"#{older.pk}<" in visits
    in_january = text(
        client.get(
            reverse("listening_reports:events"),
            {"date_from": "2026-01-01", "date_to": "2026-01-31", "unit": world.south.pk},
        )
    )
    assert f"#{call.pk}<" in in_january
    assert f"#{newest.pk}<" not in in_january


def test_an_event_shows_each_decision_with_its_reason_contact_rule_and_invitation(
    world, client, decided
):
    first, second = Event.objects.filter(customer=decided).order_by("occurred_at")
    invitation = Invitation.objects.get(event=first)
    client.force_login(world.analyst)

    invited = text(client.get(reverse("listening_reports:event", args=[first.pk])))
    skipped = text(client.get(reverse("listening_reports:event", args=[second.pk])))

    assert "After a visit" in invited
    assert "Invited" in invited
    assert f"?invitation={invitation.pk}" in invited
    assert "The contact policy" in skipped
    assert "Once a month" in skipped
    fired = InvitationDecision.objects.get(event=second).contact_rule
    assert fired is not None
    assert fired.name == "Once a month"


# The dry run -----------------------------------------------------------------------------------


def test_the_dry_run_page_shows_invitations_skips_and_where_the_margin_misses(
    world, client, survey
):
    rule = TriggerRuleFactory(survey=survey, name="After a visit", status=RuleStatus.PAUSED)
    ContactRuleFactory(organisation=world.org, name="Once a month")
    customer = make_customer(world.org)
    for days in (0, 1):
        EventFactory(
            organisation=world.org,
            customer=customer,
            occurred_at=JANUARY_5 + timedelta(days=days),
            unit=world.north_branch,
        )
    before = (Invitation.objects.count(), InvitationDecision.objects.count())
    client.force_login(world.analyst)

    page = text(
        client.get(
            reverse("listening_reports:simulate"),
            {
                "date_from": "2026-01-01",
                "date_to": "2026-01-31",
                "rules": [rule.pk],
                "margin_target": "5",
            },
        )
    )

    assert "2026-01-05" in page
    assert "North 1" in page
    assert "The contact policy" in page
    assert "Once a month" in page
    assert "misses the target" in page
    assert "1537" in page  # the worst case for ±5 points
    assert (Invitation.objects.count(), InvitationDecision.objects.count()) == before


def test_the_dry_run_page_names_the_field_it_cannot_use(world, client):
    client.force_login(world.admin)
    page = text(
        client.get(
            reverse("listening_reports:simulate"),
            {"date_from": "2026-02-01", "date_to": "2026-01-01", "margin_target": "5"},
        )
    )
    assert "The last day may not come before the first." in page
    long = text(
        client.get(
            reverse("listening_reports:simulate"),
            {"date_from": "2024-01-01", "date_to": "2026-01-01", "margin_target": "5"},
        )
    )
    assert "a dry run covers at most 366 days" in long


# The planner -----------------------------------------------------------------------------------


def test_the_planner_page_answers_responses_and_invitations(world, client):
    client.force_login(world.executive)
    page = text(
        client.get(
            reverse("listening_reports:planner"),
            {"margin": "3", "promoters": "40", "detractors": "30", "response_rate": "20"},
        )
    )
    variance = 0.4 + 0.3 - (0.4 - 0.3) ** 2
    needed = math.ceil(1.96**2 * variance * 100**2 / 3**2)
    assert f"<strong>{needed}</strong>" in page
    assert f"<strong>{math.ceil(needed / 0.2)}</strong>" in page


def test_the_planner_takes_the_variance_from_a_surveys_history(world, client, survey):
    for score in (10, 9, 8, 3):
        response_submit(
            survey=survey,
            context=ResponseContext(language="ro"),
            answers={"ltr": score},
            completed_at=JANUARY_5,
        )
    client.force_login(world.analyst)
    page = text(
        client.get(reverse("listening_reports:planner"), {"margin": "10", "survey": survey.pk})
    )
    variance = 0.5 + 0.25 - (0.5 - 0.25) ** 2
    assert f"<strong>{math.ceil(1.96**2 * variance * 100**2 / 10**2)}</strong>" in page
    assert "from the survey" in page


# Response rates, invitations, non-responders ---------------------------------------------------


def test_the_rates_page_shows_the_rate_or_says_too_few(world, client, survey):
    sent = datetime.now(UTC) - timedelta(days=1)
    for n in range(40):
        invite(survey, sent=sent, completed=n < 10, unit=world.north_branch)
    for _ in range(3):
        invite(survey, sent=sent, unit=world.south_branch)
    client.force_login(world.analyst)

    page = text(client.get(reverse("listening_reports:rates"), {"by": "unit"}))

    assert "North 1 (N1)" in page
    assert "25%" in page
    assert "too few invitations (under 30)" in page
    client.force_login(world.manager_south)
    south = text(client.get(reverse("listening_reports:rates"), {"by": "unit"}))
    assert "South 1 (S1)" in south
    assert "North 1 (N1)" not in south


def test_the_invitations_page_shows_the_life_cycle_and_filters(world, client, survey):
    sent = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    done = invite(survey, sent=sent, completed=True, opened=True, unit=world.north_branch)
    waiting = invite(survey, sent=sent, unit=world.south_branch)
    client.force_login(world.manager_north)

    page = text(client.get(reverse("listening_reports:invitations")))
    completed = text(client.get(reverse("listening_reports:invitations"), {"status": "sent"}))

    assert f"#{done.pk}" in page
    assert f"#{waiting.pk}" not in page
    assert "2026-01-10 12:00" in page  # opened, in the organisation's time (UTC+2)
    assert f"#{done.pk}" not in completed


def test_the_non_responders_page_and_its_csv(world, client, survey):
    account = make_customer(world.org, full_name="=Acme Ltd", attributes={"tier": "gold"})
    now = datetime.now(UTC)
    for days in (3, 10, 17):
        invite(survey, sent=now - timedelta(days=days), customer=account)
    client.force_login(world.executive)
    query = {"min_invitations": "3", "segment": "tier"}

    page = text(client.get(reverse("listening_reports:non_responders"), query))
    download = client.get(reverse("listening_reports:non_responders_download"), query)

    assert "=Acme Ltd" in page
    assert "gold" in page
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["customer_id", "name", "segment", "invitations", "last_invited_at"]
    # A leading "=" is quoted so that a spreadsheet does not run it as a formula.
    assert rows[1][:4] == [str(account.pk), "'=Acme Ltd", "gold", "3"]
    assert len(rows) == 2


# Query counts: a longer list costs no more queries ----------------------------------------------


def queries_for(client, url: str, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_events_and_invitations_lists_cost_the_same_queries_for_more_rows(
    world, client, survey
):
    customer = make_customer(world.org)
    client.force_login(world.analyst)

    def add(n: int) -> None:
        for _ in range(n):
            EventFactory(
                organisation=world.org,
                customer=customer,
                occurred_at=JANUARY_5,
                unit=world.north_branch,
            )
            invite(
                survey, sent=JANUARY_5, customer=make_customer(world.org), unit=world.north_branch
            )

    add(1)
    few = [
        queries_for(client, reverse("listening_reports:events")),
        queries_for(client, reverse("listening_reports:invitations")),
        queries_for(
            client,
            reverse("listening_reports:non_responders"),
            {"min_invitations": 1, "date_from": "2026-01-01", "date_to": "2026-01-31"},
        ),
    ]
    add(6)
    many = [
        queries_for(client, reverse("listening_reports:events")),
        queries_for(client, reverse("listening_reports:invitations")),
        queries_for(
            client,
            reverse("listening_reports:non_responders"),
            {"min_invitations": 1, "date_from": "2026-01-01", "date_to": "2026-01-31"},
        ),
    ]
    assert many == few
