"""Who may open which page of the listening configuration, and who may change anything there.

Admins and analysts configure; executives read; managers and frontline employees are refused the
lists (403) and do not find single rules (404); another organisation's rules are not found either.
Anonymous visitors are sent to sign in.
"""

from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.listening import rules
from sonda.listening.models import ContactRule, ListeningSettings, TriggerRule
from sonda.surveys.tests.factories import make_published_survey

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")

LISTS = {
    **dict.fromkeys(ROLES, 403),
    "admin": 200,
    "analyst": 200,
    "executive": 200,
    "outsider": 200,  # their own organisation's
}
FORMS = {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "outsider": 200}
OBJECT_READ = {**dict.fromkeys(ROLES, 404), "admin": 200, "analyst": 200, "executive": 200}
OBJECT_WRITE = {**OBJECT_READ, "executive": 403}


@pytest.fixture
def config(world) -> tuple[TriggerRule, ContactRule]:
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    trigger = rules.trigger_rule_create(
        scope=scope, name="Branch visits", survey_id=survey.pk, status="active"
    )
    contact = rules.contact_rule_create(
        scope=scope, name="Monthly", kind="max_in_window", max_invitations=1, window_days=30
    )
    return trigger, contact


Url = Callable[[TriggerRule, ContactRule], str]
MATRIX: dict[str, tuple[Url, dict[str, int]]] = {
    "index": (lambda t, c: reverse("listening:index"), LISTS),
    "rules": (lambda t, c: reverse("listening:rules"), LISTS),
    "new rule": (lambda t, c: reverse("listening:rule_create"), FORMS),
    "rule": (lambda t, c: reverse("listening:rule", args=[t.pk]), OBJECT_READ),
    "edit rule": (lambda t, c: reverse("listening:rule_edit", args=[t.pk]), OBJECT_WRITE),
    "contact policy": (lambda t, c: reverse("listening:contact_rules"), LISTS),
    "new contact rule": (lambda t, c: reverse("listening:contact_rule_create"), FORMS),
    "edit contact rule": (
        lambda t, c: reverse("listening:contact_rule_edit", args=[c.pk]),
        OBJECT_WRITE,
    ),
    "quiet hours": (lambda t, c: reverse("listening:settings"), LISTS),
}


@pytest.mark.parametrize("page", list(MATRIX))
def test_anonymous_visitors_are_sent_to_sign_in(config, client: Client, page):
    build, _expected = MATRIX[page]
    url = build(*config)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(MATRIX))
def test_each_role_opens_only_the_pages_it_may_use(world, config, client, page, role):
    build, expected = MATRIX[page]
    client.force_login(world.users_by_role[role])
    response = client.get(build(*config))
    assert response.status_code == expected[role]


def _posts(trigger: TriggerRule, contact: ContactRule) -> dict[str, tuple[str, dict[str, str]]]:
    rule_form = {
        "name": "Stolen",
        "survey": str(trigger.survey_id),
        "status": "paused",
        "priority": "1",
        "timing": "immediate",
        "delivery_order": "email",
        "sampling_percent": "100",
        "valid_days": "14",
    }
    contact_form = {
        "name": "Stolen",
        "kind": "gap_after_invitation",
        "gap_days": "1",
        "scope": "organisation",
        "active": "on",
    }
    return {
        "create a rule": (reverse("listening:rule_create"), rule_form),
        "edit a rule": (reverse("listening:rule_edit", args=[trigger.pk]), rule_form),
        "pause a rule": (reverse("listening:rule_pause", args=[trigger.pk]), {}),
        "resume a rule": (reverse("listening:rule_resume", args=[trigger.pk]), {}),
        "create a contact rule": (reverse("listening:contact_rule_create"), contact_form),
        "edit a contact rule": (
            reverse("listening:contact_rule_edit", args=[contact.pk]),
            contact_form,
        ),
        "switch off a contact rule": (
            reverse("listening:contact_rule_active", args=[contact.pk]),
            {"active": "0"},
        ),
        "set quiet hours": (
            reverse("listening:settings"),
            {
                "time_zone": "UTC",
                "quiet_hours_start": "00:00",
                "quiet_hours_end": "23:00",
            },
        ),
    }


def _state(world):
    return (
        list(TriggerRule.objects.values_list("name", "status", "priority")),
        list(ContactRule.objects.values_list("name", "kind", "active")),
        ListeningSettings.objects.filter(organisation=world.org).exists(),
    )


@pytest.mark.parametrize(
    "role", ["executive", "manager_north", "manager_south", "frontline", "outsider"]
)
def test_only_admins_and_analysts_change_anything_through_the_pages(world, config, client, role):
    client.force_login(world.users_by_role[role])
    before = _state(world)
    codes = {}
    for action, (url, data) in _posts(*config).items():
        codes[action] = client.post(url, data).status_code
    # The outsider's new contact rule and settings land in their own organisation. Their new
    # trigger rule is refused: the survey it names is not one of theirs.
    if role == "outsider":
        assert ContactRule.objects.filter(organisation=world.other_org).count() == 1
        ContactRule.objects.filter(organisation=world.other_org).delete()
        assert ListeningSettings.objects.filter(organisation=world.other_org).count() == 1
    assert not TriggerRule.objects.filter(organisation=world.other_org).exists()
    assert _state(world) == before
    on_objects = 403 if role == "executive" else 404
    own_forms = 302 if role == "outsider" else 403
    assert codes == {
        "create a rule": 200 if role == "outsider" else 403,  # shown again with the error
        "edit a rule": on_objects,
        "pause a rule": on_objects,
        "resume a rule": on_objects,
        "create a contact rule": own_forms,
        "edit a contact rule": on_objects,
        "switch off a contact rule": on_objects,
        "set quiet hours": own_forms,
    }


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_pause_and_resume_are_posts_only(world, config, client, role):
    trigger, _contact = config
    client.force_login(world.users_by_role[role])
    assert client.get(reverse("listening:rule_pause", args=[trigger.pk])).status_code == 405
    assert client.get(reverse("listening:rule_resume", args=[trigger.pk])).status_code == 405
    assert TriggerRule.objects.get(pk=trigger.pk).status == "active"


def test_the_pages_of_another_organisation_show_nothing_of_this_one(world, config, client):
    client.force_login(world.outsider)
    for name in ("listening:rules", "listening:contact_rules", "listening:index"):
        html = client.get(reverse(name)).content.decode()
        assert "Branch visits" not in html
        assert "Monthly" not in html
