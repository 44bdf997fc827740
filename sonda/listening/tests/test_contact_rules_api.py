"""/contact-rules: the contact policy over the API."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.listening import rules
from sonda.listening.models import ContactRule
from sonda.surveys.tests.factories import make_published_survey

LIST = {
    "anonymous": 401,
    "outsider": 200,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
READ = {**LIST, "outsider": 404, "manager_south": 404, "frontline": 404, "manager_north": 404}
WRITE = {**READ, "executive": 403}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def rule(world) -> ContactRule:
    return rules.contact_rule_create(
        scope=world.scope(world.analyst),
        name="At most one survey a month",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )


def rule_json(rule: ContactRule, **changes) -> dict[str, object]:
    encode = DjangoJSONEncoder().default
    return {
        "id": rule.pk,
        "name": rule.name,
        "kind": rule.kind,
        "scope": rule.scope,
        "program_id": rule.program_id,
        "survey_id": rule.survey_id,
        "max_invitations": rule.max_invitations,
        "window_days": rule.window_days,
        "gap_days": rule.gap_days,
        "customer_conditions": rule.customer_conditions,
        "active": rule.active,
        "created_at": encode(rule.created_at),
        "updated_at": encode(rule.updated_at),
        **changes,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_the_contact_policy(api, rule, who):
    response = api.as_(who).get("/contact-rules")
    assert response.status_code == LIST[who]
    if who == "outsider":
        assert response.json() == {"count": 0, "items": []}
    elif response.status_code == 200:
        assert response.json() == {"count": 1, "items": [rule_json(rule)]}
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_contact_rule(api, rule, who):
    response = api.as_(who).get(f"/contact-rules/{rule.pk}")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == rule_json(rule)
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_contact_rule(api, rule, who):
    response = api.as_(who).patch(f"/contact-rules/{rule.pk}", {"active": False})
    assert response.status_code == WRITE[who]
    stored = ContactRule.objects.get(pk=rule.pk)
    assert stored.active is (WRITE[who] != 200)
    if response.status_code == 200:
        assert response.json() == rule_json(stored)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_contact_rule(api, world, who):
    body = {"name": "A week apart", "kind": "gap_after_invitation", "gap_days": 7}
    response = api.as_(who).post("/contact-rules", body)
    allowed = who in {"analyst", "admin", "outsider"}
    assert response.status_code == (201 if allowed else {"anonymous": 401}.get(who, 403))
    assert ContactRule.objects.filter(name="A week apart").count() == (1 if allowed else 0)
    if allowed:
        created = ContactRule.objects.get(name="A week apart")
        assert created.organisation == (world.other_org if who == "outsider" else world.org)
        assert response.json() == rule_json(created)


def test_a_rule_for_some_customers_of_one_program(api, survey):
    response = api.as_("analyst").post(
        "/contact-rules",
        {
            "name": "Business customers: a quarter after an answer",
            "kind": "gap_after_response",
            "gap_days": 90,
            "scope": "program",
            "program_id": survey.program_id,
            "customer_conditions": [{"attribute": "segment", "op": "eq", "value": "business"}],
        },
    )
    assert response.status_code == 201, response.content
    created = ContactRule.objects.get()
    assert response.json() == rule_json(created)
    assert (created.scope, created.program_id, created.gap_days) == (
        "program",
        survey.program_id,
        90,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "max_in_window"}, "max_invitations"),
        ({"kind": "max_in_window", "max_invitations": 2}, "window_days"),
        ({"kind": "gap_after_response"}, "gap_days"),
        ({"kind": "gap_after_response", "gap_days": 5, "window_days": 5}, "window_days"),
        ({"kind": "often"}, "kind"),
        ({"kind": "gap_after_response", "gap_days": 5, "scope": "program"}, "program_id"),
        (
            {"kind": "gap_after_response", "gap_days": 5, "scope": "survey", "survey_id": 10**9},
            "survey_id",
        ),
        (
            {
                "kind": "gap_after_response",
                "gap_days": 5,
                "customer_conditions": [{"attribute": "segment", "op": "bigger", "value": 1}],
            },
            "customer_conditions[0].op",
        ),
    ],
)
def test_a_wrong_contact_rule_is_refused_naming_the_field(api, body, field):
    response = api.as_("admin").post("/contact-rules", {"name": "Wrong", **body})
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not ContactRule.objects.exists()


def test_a_patch_to_another_kind_needs_only_the_new_numbers(api, rule):
    response = api.as_("analyst").patch(
        f"/contact-rules/{rule.pk}", {"kind": "gap_after_invitation", "gap_days": 14}
    )
    assert response.status_code == 200
    stored = ContactRule.objects.get(pk=rule.pk)
    assert response.json() == rule_json(stored)
    assert (stored.max_invitations, stored.window_days, stored.gap_days) == (None, None, 14)


def test_a_wrong_patch_changes_nothing(api, rule):
    response = api.as_("analyst").patch(
        f"/contact-rules/{rule.pk}", {"name": "Renamed", "scope": "survey"}
    )
    assert (response.status_code, problem_fields(response)) == (422, ["survey_id"])
    assert rule_json(ContactRule.objects.get(pk=rule.pk)) == rule_json(rule)
