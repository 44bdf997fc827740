"""The contact policy through the pages: create, edit, switch off; errors by their field."""

import pytest
from django.urls import reverse

from sonda.listening import rules
from sonda.listening.models import ContactRule
from sonda.surveys.tests.factories import make_published_survey


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def form_data(**changes) -> dict[str, str]:
    return {
        "name": "Business customers: a quarter apart",
        "kind": "gap_after_response",
        "max_invitations": "",
        "window_days": "",
        "gap_days": "90",
        "scope": "organisation",
        "program": "",
        "survey": "",
        "customer_conditions": "segment eq business",
        "active": "on",
        **changes,
    }


def test_an_analyst_creates_a_contact_rule_with_the_form(world, survey, client):
    client.force_login(world.analyst)
    # Numbers and targets the chosen kind and scope do not use are ignored, not refused.
    response = client.post(
        reverse("listening:contact_rule_create"),
        form_data(
            scope="program",
            program=str(survey.program_id),
            survey=str(survey.pk),
            max_invitations="3",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("listening:contact_rules")
    rule = ContactRule.objects.get()
    assert (rule.organisation, rule.kind, rule.gap_days, rule.max_invitations) == (
        world.org,
        "gap_after_response",
        90,
        None,
    )
    assert (rule.scope, rule.program, rule.survey, rule.active) == (
        "program",
        survey.program,
        None,
        True,
    )
    assert rule.customer_conditions == [{"attribute": "segment", "op": "eq", "value": "business"}]
    html = client.get(reverse("listening:contact_rules")).content.decode()
    assert "Business customers: a quarter apart" in html
    assert "<code>segment eq business</code>" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"gap_days": ""}, "gap_days", "required for this kind of rule"),
        ({"kind": "max_in_window", "max_invitations": "2"}, "window_days", "required"),
        ({"scope": "survey"}, "survey", "names its survey"),
        (
            {"customer_conditions": "segment eq business\nsegment is vip"},
            "customer_conditions",
            "Line 2:",
        ),
        ({"customer_conditions": "email exists maybe"}, "customer_conditions", "Line 1: value"),
        ({"kind": "often"}, "kind", ""),
    ],
)
def test_a_wrong_contact_rule_is_shown_again_with_the_error_by_its_field(
    world, client, changes, field, message
):
    client.force_login(world.admin)
    response = client.post(reverse("listening:contact_rule_create"), form_data(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not ContactRule.objects.exists()


def test_editing_a_contact_rule_to_another_kind(world, client):
    rule = rules.contact_rule_create(
        scope=world.scope(world.analyst),
        name="Monthly",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    client.force_login(world.analyst)
    html = client.get(reverse("listening:contact_rule_edit", args=[rule.pk])).content.decode()
    assert 'value="Monthly"' in html
    response = client.post(
        reverse("listening:contact_rule_edit", args=[rule.pk]),
        form_data(
            name="A week apart",
            kind="gap_after_invitation",
            gap_days="7",
            max_invitations="1",
            window_days="30",
            customer_conditions="",
        ),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.kind, rule.gap_days, rule.max_invitations, rule.window_days) == (
        "A week apart",
        "gap_after_invitation",
        7,
        None,
        None,
    )
    assert rule.customer_conditions == []


def test_a_contact_rule_is_switched_off_and_on_from_the_list(world, client):
    rule = rules.contact_rule_create(
        scope=world.scope(world.analyst),
        name="Monthly",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    client.force_login(world.admin)
    url = reverse("listening:contact_rule_active", args=[rule.pk])
    assert url in client.get(reverse("listening:contact_rules")).content.decode()
    assert client.post(url, {"active": "0"}).status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    client.post(url, {"active": "1"})
    rule.refresh_from_db()
    assert rule.active is True


def test_executives_read_the_policy_without_buttons(world, client):
    rule = rules.contact_rule_create(
        scope=world.scope(world.analyst),
        name="Monthly",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    client.force_login(world.executive)
    html = client.get(reverse("listening:contact_rules")).content.decode()
    assert "Monthly" in html
    assert reverse("listening:contact_rule_active", args=[rule.pk]) not in html
    assert reverse("listening:contact_rule_edit", args=[rule.pk]) not in html
