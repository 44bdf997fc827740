"""/trigger-rules: trigger rules over the API."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.listening import rules
from sonda.listening.models import RuleStatus, TriggerRule
from sonda.surveys import services as survey_services
from sonda.surveys.tests.factories import make_published_survey

# Listening configuration belongs to those who run the program: lists refuse managers and
# frontline employees, single rules are not found by them; executives read; admins and analysts
# write.
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
def rule(world, survey) -> TriggerRule:
    return rules.trigger_rule_create(
        scope=world.scope(world.analyst),
        name="Branch visits",
        survey_id=survey.pk,
        status="active",
        event_types=["branch_visit"],
        unit_id=world.north.pk,
        conditions=[{"attribute": "product", "op": "in", "value": ["loan", "card"]}],
        sampling_percent=25,
        daily_quota_per_unit=10,
        reminder_after_days=3,
    )


def rule_json(rule: TriggerRule, **changes) -> dict[str, object]:
    encode = DjangoJSONEncoder().default
    return {
        "id": rule.pk,
        "name": rule.name,
        "status": rule.status,
        "priority": rule.priority,
        "survey_id": rule.survey_id,
        "survey_name": rule.survey.name,
        "survey_published": True,
        "event_types": rule.event_types,
        "channels": rule.channels,
        "unit_id": rule.unit_id,
        "touchpoints": rule.touchpoints,
        "conditions": rule.conditions,
        "timing": rule.timing,
        "delay_minutes": rule.delay_minutes,
        "delivery_order": rule.delivery_order,
        "sampling_percent": float(rule.sampling_percent),
        "daily_quota_per_unit": rule.daily_quota_per_unit,
        "also_evaluate_others": rule.also_evaluate_others,
        "valid_days": rule.valid_days,
        "reminder_after_days": rule.reminder_after_days,
        "created_at": encode(rule.created_at),
        "updated_at": encode(rule.updated_at),
        **changes,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_trigger_rules(api, rule, who):
    response = api.as_(who).get("/trigger-rules")
    assert response.status_code == LIST[who]
    if who == "outsider":
        assert response.json() == {"count": 0, "items": []}
    elif response.status_code == 200:
        assert response.json() == {"count": 1, "items": [rule_json(rule)]}
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_trigger_rule(api, rule, who):
    response = api.as_(who).get(f"/trigger-rules/{rule.pk}")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == rule_json(rule)
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_trigger_rule(api, rule, who):
    response = api.as_(who).patch(f"/trigger-rules/{rule.pk}", {"priority": 5})
    assert response.status_code == WRITE[who]
    stored = TriggerRule.objects.get(pk=rule.pk)
    assert stored.priority == (5 if WRITE[who] == 200 else 100)
    if response.status_code == 200:
        assert response.json() == rule_json(stored)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_pause_a_trigger_rule(api, rule, who):
    response = api.as_(who).post(f"/trigger-rules/{rule.pk}/pause")
    assert response.status_code == WRITE[who]
    stored = TriggerRule.objects.get(pk=rule.pk)
    assert stored.status == ("paused" if WRITE[who] == 200 else "active")
    if response.status_code == 200:
        assert response.json()["status"] == "paused"


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_resume_a_trigger_rule(api, world, rule, who):
    rules.trigger_rule_pause(scope=world.scope(world.admin), rule_id=rule.pk)
    response = api.as_(who).post(f"/trigger-rules/{rule.pk}/resume")
    assert response.status_code == WRITE[who]
    stored = TriggerRule.objects.get(pk=rule.pk)
    assert stored.status == ("active" if WRITE[who] == 200 else "paused")


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_trigger_rule(api, world, survey, who):
    body = {"name": "Calls", "survey_id": survey.pk}
    if who == "outsider":
        body["survey_id"] = make_published_survey(world.scope(world.outsider, world.other_org)).pk
    response = api.as_(who).post("/trigger-rules", body)
    allowed = who in {"analyst", "admin", "outsider"}  # the outsider's lands in their own
    assert response.status_code == (201 if allowed else {"anonymous": 401}.get(who, 403))
    assert TriggerRule.objects.filter(name="Calls").count() == (1 if allowed else 0)
    if allowed:
        created = TriggerRule.objects.get(name="Calls")
        assert created.organisation == (world.other_org if who == "outsider" else world.org)
        assert response.json() == rule_json(created)
        assert created.status == RuleStatus.PAUSED
        assert created.delivery_order == ["email", "sms", "link"]


def test_a_rule_is_created_with_everything_it_says(api, world, survey):
    response = api.as_("analyst").post(
        "/trigger-rules",
        {
            "name": "Mortgage calls",
            "survey_id": survey.pk,
            "status": "active",
            "priority": 10,
            "event_types": ["call_completed"],
            "channels": ["phone"],
            "unit_id": world.south.pk,
            "touchpoints": ["mortgage_line"],
            "conditions": [
                {"attribute": "product", "op": "eq", "value": "mortgage"},
                {"attribute": "customer.segment", "op": "exists"},
            ],
            "timing": "delay",
            "delay_minutes": 60,
            "delivery_order": ["sms", "link"],
            "sampling_percent": 33.5,
            "daily_quota_per_unit": 4,
            "also_evaluate_others": True,
            "valid_days": 5,
            "reminder_after_days": 2,
        },
    )
    assert response.status_code == 201, response.content
    rule = TriggerRule.objects.get(name="Mortgage calls")
    assert response.json() == rule_json(rule)
    assert rule.conditions == [
        {"attribute": "product", "op": "eq", "value": "mortgage"},
        {"attribute": "customer.segment", "op": "exists", "value": True},
    ]
    assert (rule.status, rule.unit, float(rule.sampling_percent)) == ("active", world.south, 33.5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"survey_id": None}, "survey_id"),
        ({"delivery_order": ["email", "email"]}, "delivery_order[1]"),
        ({"delivery_order": []}, "delivery_order"),
        ({"timing": "delay"}, "delay_minutes"),
        ({"timing": "later"}, "timing"),
        ({"sampling_percent": 150}, "sampling_percent"),
        ({"daily_quota_per_unit": 0}, "daily_quota_per_unit"),
        ({"valid_days": 120}, "valid_days"),
        ({"valid_days": 3, "reminder_after_days": 3}, "reminder_after_days"),
        ({"event_types": ["visit", " "]}, "event_types[1]"),
        ({"conditions": [{"attribute": "tier", "op": "gt", "value": [1]}]}, "conditions[0].value"),
        ({"conditions": [{"op": "eq", "value": 1}]}, "conditions[0].attribute"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_wrong_rule_is_refused_naming_the_field(api, survey, body, field):
    response = api.as_("admin").post(
        "/trigger-rules", {"name": "Wrong", "survey_id": survey.pk, **body}
    )
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not TriggerRule.objects.exists()


def test_a_rule_cannot_name_another_organisations_survey_or_unit(api, world, survey):
    foreign = make_published_survey(world.scope(world.outsider, world.other_org))
    response = api.as_("admin").post("/trigger-rules", {"name": "X", "survey_id": foreign.pk})
    assert (response.status_code, problem_fields(response)) == (422, ["survey_id"])
    response = api.as_("outsider").post(
        "/trigger-rules", {"name": "X", "survey_id": foreign.pk, "unit_id": world.north.pk}
    )
    assert (response.status_code, problem_fields(response)) == (422, ["unit_id"])
    assert not TriggerRule.objects.exists()


def test_an_unpublished_survey_cannot_be_switched_on(api, world, rule, survey):
    draft = survey_services.survey_create(
        scope=world.scope(world.analyst),
        program_id=survey.program_id,
        name="Draft only",
        languages=["en"],
        default_language="en",
    )
    caller = api.as_("analyst")
    response = caller.post(
        "/trigger-rules", {"name": "X", "survey_id": draft.pk, "status": "active"}
    )
    assert (response.status_code, problem_fields(response)) == (422, ["survey_id"])
    created = caller.post("/trigger-rules", {"name": "Later", "survey_id": draft.pk})
    assert created.status_code == 201
    assert created.json()["survey_published"] is False
    response = caller.post(f"/trigger-rules/{created.json()['id']}/resume")
    assert (response.status_code, problem_fields(response)) == (422, ["survey_id"])
    assert TriggerRule.objects.get(name="Later").status == "paused"


def test_a_patch_clears_only_what_it_names(api, rule):
    response = api.as_("analyst").patch(
        f"/trigger-rules/{rule.pk}",
        {"unit_id": None, "reminder_after_days": None, "conditions": []},
    )
    assert response.status_code == 200
    stored = TriggerRule.objects.get(pk=rule.pk)
    assert (stored.unit_id, stored.reminder_after_days, stored.conditions) == (None, None, [])
    assert (stored.daily_quota_per_unit, stored.event_types) == (10, ["branch_visit"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"status": "paused"}, "status"),  # status changes by /pause and /resume
        ({"valid_days": 2}, "reminder_after_days"),
        ({"unit_id": 10**9}, "unit_id"),
    ],
)
def test_a_wrong_patch_changes_nothing(api, rule, body, field):
    response = api.as_("admin").patch(f"/trigger-rules/{rule.pk}", body)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    stored = TriggerRule.objects.get(pk=rule.pk)
    assert rule_json(stored) == rule_json(rule)


def test_the_list_can_show_only_paused_rules(api, world, rule, survey):
    paused = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="Paused", survey_id=survey.pk
    )
    response = api.as_("executive").get("/trigger-rules", status="paused")
    assert [item["id"] for item in response.json()["items"]] == [paused.pk]
    response = api.as_("executive").get("/trigger-rules", status="sleeping")
    assert (response.status_code, problem_fields(response)) == (422, ["status"])


def test_rules_are_listed_in_the_order_they_are_tried(api, world, survey, rule):
    first = rules.trigger_rule_create(
        scope=world.scope(world.analyst), name="First", survey_id=survey.pk, priority=1
    )
    response = api.as_("analyst").get("/trigger-rules")
    assert [item["id"] for item in response.json()["items"]] == [first.pk, rule.pk]


def test_the_list_costs_the_same_queries_whatever_the_number_of_rules(api, world, survey):
    caller = api.as_("analyst")
    caller.get("/trigger-rules")  # the token's first use is recorded once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert caller.get("/trigger-rules").status_code == 200
        return len(captured)

    rules.trigger_rule_create(scope=world.scope(world.analyst), name="One", survey_id=survey.pk)
    one = queries()
    for n in range(5):
        other = make_published_survey(
            world.scope(world.analyst), program=survey.program, name=f"Survey {n}"
        )
        rules.trigger_rule_create(
            scope=world.scope(world.analyst),
            name=f"Rule {n}",
            survey_id=other.pk,
            unit_id=world.north.pk,
        )
    assert queries() == one
