"""Trigger rules through the pages: create, see what a rule matches and decided, edit, pause."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from sonda.listening import rules
from sonda.listening.decisions import decide_events
from sonda.listening.models import RuleStatus, TriggerRule
from sonda.listening.tests.listening_factories import EventFactory, make_customer
from sonda.surveys import services as survey_services
from sonda.surveys.tests.factories import make_published_survey


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def form_data(survey, **changes) -> dict[str, str]:
    return {
        "name": "Mortgage calls",
        "survey": str(survey.pk),
        "status": "paused",
        "priority": "10",
        "event_types": "call_completed, call_transferred",
        "channels": "phone",
        "unit": "",
        "touchpoints": "",
        "conditions": "product eq mortgage\n\namount gte 1000\nproduct in loan, card",
        "timing": "delay",
        "delay_minutes": "60",
        "delivery_order": "sms, email",
        "sampling_percent": "12.5",
        "daily_quota_per_unit": "",
        "valid_days": "7",
        "reminder_after_days": "3",
        **changes,
    }


def test_an_analyst_creates_a_rule_with_the_form(world, survey, client):
    client.force_login(world.analyst)
    response = client.post(
        reverse("listening:rule_create"), form_data(survey, unit=str(world.north.pk))
    )
    rule = TriggerRule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("listening:rule", args=[rule.pk])
    assert (rule.organisation, rule.name, rule.survey, rule.status) == (
        world.org,
        "Mortgage calls",
        survey,
        RuleStatus.PAUSED,
    )
    assert rule.event_types == ["call_completed", "call_transferred"]
    assert (rule.channels, rule.touchpoints, rule.unit) == (["phone"], [], world.north)
    assert rule.conditions == [
        {"attribute": "product", "op": "eq", "value": "mortgage"},
        {"attribute": "amount", "op": "gte", "value": 1000},
        {"attribute": "product", "op": "in", "value": ["loan", "card"]},
    ]
    assert (rule.timing, rule.delay_minutes, rule.delivery_order) == ("delay", 60, ["sms", "email"])
    assert rule.sampling_percent == Decimal("12.5")
    assert (rule.daily_quota_per_unit, rule.valid_days, rule.reminder_after_days) == (None, 7, 3)


def test_the_edit_form_shows_the_rule_as_it_was_typed(world, survey, client):
    client.force_login(world.analyst)
    client.post(reverse("listening:rule_create"), form_data(survey))
    rule = TriggerRule.objects.get()
    html = client.get(reverse("listening:rule_edit", args=[rule.pk])).content.decode()
    assert "product eq mortgage\namount gte 1000\nproduct in loan, card</textarea>" in html
    assert 'value="call_completed, call_transferred"' in html
    assert 'value="12.5"' in html
    assert 'name="status"' not in html  # the status changes by pausing and resuming


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"conditions": "product eq mortgage\nproduct like loan"}, "conditions", "Line 2:"),
        ({"conditions": "\n\nproduct"}, "conditions", "Line 3:"),
        ({"conditions": "amount gt 1\ntier in"}, "conditions", "Line 2: the values are missing"),
        ({"delivery_order": "email, fax"}, "delivery_order", "Item 2: one of email, sms, link"),
        ({"delivery_order": "email, email"}, "delivery_order", "listed twice"),
        ({"delay_minutes": ""}, "delay_minutes", "a whole number from 1"),
        ({"reminder_after_days": "7"}, "reminder_after_days", "before the link expires"),
        ({"sampling_percent": "120"}, "sampling_percent", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_a_wrong_rule_is_shown_again_with_the_error_by_its_field(
    world, survey, client, changes, field, message
):
    client.force_login(world.admin)
    response = client.post(reverse("listening:rule_create"), form_data(survey, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not TriggerRule.objects.exists()


def test_a_rule_for_an_unpublished_survey_cannot_start_active(world, survey, client):
    draft = survey_services.survey_create(
        scope=world.scope(world.analyst),
        program_id=survey.program_id,
        name="Draft only",
        languages=["en"],
        default_language="en",
    )
    client.force_login(world.analyst)
    html = client.get(reverse("listening:rule_create")).content.decode()
    assert "Draft only (not published yet)" in html
    response = client.post(reverse("listening:rule_create"), form_data(draft, status="active"))
    assert response.status_code == 200
    assert "publish it before switching the rule on" in " ".join(
        response.context["form"].errors["survey"]
    )
    assert not TriggerRule.objects.exists()


def test_editing_a_rule_changes_it(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Visits", survey_id=survey.pk, status="active"
    )
    client.force_login(world.analyst)
    response = client.post(
        reverse("listening:rule_edit", args=[rule.pk]),
        form_data(survey, name="Visits to North", unit=str(world.north.pk), conditions=""),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.unit, rule.conditions, rule.status) == (
        "Visits to North",
        world.north,
        [],
        RuleStatus.ACTIVE,
    )


def test_a_refused_edit_saves_nothing(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Visits", survey_id=survey.pk
    )
    client.force_login(world.analyst)
    response = client.post(
        reverse("listening:rule_edit", args=[rule.pk]),
        form_data(survey, name="Renamed", conditions="segment exists maybe"),
    )
    assert response.status_code == 200
    assert "Line 1: value" in " ".join(response.context["form"].errors["conditions"])
    rule.refresh_from_db()
    assert rule.name == "Visits"


def test_the_list_pauses_and_resumes_a_rule(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Visits", survey_id=survey.pk, status="active"
    )
    client.force_login(world.analyst)
    page = reverse("listening:rules")
    html = client.get(page).content.decode()
    assert reverse("listening:rule_pause", args=[rule.pk]) in html
    assert "csrfmiddlewaretoken" in html
    response = client.post(reverse("listening:rule_pause", args=[rule.pk]), {"next": page})
    assert (response.status_code, response["Location"]) == (302, page)
    rule.refresh_from_db()
    assert rule.status == RuleStatus.PAUSED
    response = client.post(
        reverse("listening:rule_resume", args=[rule.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("listening:rule", args=[rule.pk])
    rule.refresh_from_db()
    assert rule.status == RuleStatus.ACTIVE


def test_resuming_a_rule_whose_survey_is_archived_says_why_it_stays_paused(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Visits", survey_id=survey.pk
    )
    survey_services.survey_update(
        scope=world.scope(world.analyst), survey_id=survey.pk, is_archived=True
    )
    client.force_login(world.analyst)
    response = client.post(reverse("listening:rule_resume", args=[rule.pk]), follow=True)
    assert "stays paused" in response.content.decode()
    rule.refresh_from_db()
    assert rule.status == RuleStatus.PAUSED


def test_executives_read_rules_without_buttons(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Visits", survey_id=survey.pk, status="active"
    )
    client.force_login(world.executive)
    for url in (reverse("listening:rules"), reverse("listening:rule", args=[rule.pk])):
        html = client.get(url).content.decode()
        assert "Visits" in html
        assert reverse("listening:rule_pause", args=[rule.pk]) not in html
        assert reverse("listening:rule_edit", args=[rule.pk]) not in html


def test_the_rule_page_says_what_it_matches_and_how_it_decided(world, survey, client):
    rule = rules.trigger_rule_create(
        scope=world.scope(world.analyst),
        name="Visits",
        survey_id=survey.pk,
        status="active",
        unit_id=world.north.pk,
        conditions=[{"attribute": "product", "op": "in", "value": ["loan", "card"]}],
        sampling_percent=100,
    )
    rules.contact_rule_create(
        scope=world.scope(world.analyst),
        name="Monthly",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    now = datetime.now(UTC)
    customer = make_customer(world.org)
    events = [
        EventFactory(
            organisation=world.org,
            customer=customer,
            unit=world.north_branch,
            attributes={"product": "loan"},
            occurred_at=now - timedelta(minutes=minutes),
        )
        for minutes in (3, 2)
    ]
    decide_events(organisation_id=world.org.pk, event_ids=[e.pk for e in events], now=now)
    client.force_login(world.executive)
    response = client.get(reverse("listening:rule", args=[rule.pk]))
    html = response.content.decode()
    assert "North and the units below it" in html
    assert "<code>product in loan, card</code>" in html
    counts = [(c.outcome, c.reason, c.count) for c in response.context["counts"]]
    assert counts == [("invited", "", 1), ("skipped", "contact_policy", 1)]
    assert "The contact policy" in html
    assert response.context["decided"] == 2


def test_the_list_can_show_only_paused_rules(world, survey, client):
    rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Running", survey_id=survey.pk, status="active"
    )
    rules.trigger_rule_create(scope=world.scope(world.analyst), name="Waiting", survey_id=survey.pk)
    client.force_login(world.analyst)
    response = client.get(reverse("listening:rules"), {"status": "paused"})
    assert [rule.name for rule in response.context["page_obj"]] == ["Waiting"]
