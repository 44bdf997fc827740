"""/alert-rules: which responses open cases, configured over the API."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.loop.models import AlertRule
from sonda.loop.tests.loop_helpers import DETRACTORS, make_bank

# Alert rules belong to those who run the program: lists refuse managers and frontline (403),
# single rules are not found by them; executives read; admins and analysts write.
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
RUDE = {
    "kind": "words",
    "question": "comment",
    "phrases": {"en": ["rude"], "pl": ["niegrzeczn*"]},
}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def bank(world):
    return make_bank(world)


@pytest.fixture
def rule(bank) -> AlertRule:
    return bank.rule("Detractors", priority="high", survey_id=bank.survey.pk)


def rule_json(rule: AlertRule, **changes) -> dict[str, object]:
    encode = DjangoJSONEncoder().default
    return {
        "id": rule.pk,
        "name": rule.name,
        "program_id": rule.program_id,
        "survey_id": rule.survey_id,
        "conditions": rule.conditions,
        "priority": rule.priority,
        "position": rule.position,
        "is_active": rule.is_active,
        "created_at": encode(rule.created_at),
        "updated_at": encode(rule.updated_at),
        **changes,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_lists_and_reads_alert_rules(api, rule, who):
    caller = api.as_(who)
    listed = caller.get("/alert-rules")
    assert listed.status_code == LIST[who]
    one = caller.get(f"/alert-rules/{rule.pk}")
    assert one.status_code == READ[who]
    if who == "outsider":
        assert listed.json() == {"count": 0, "items": []}
    elif LIST[who] == 200:
        assert listed.json() == {"count": 1, "items": [rule_json(rule)]}
        assert one.json() == rule_json(rule)
    else:
        problem_fields(listed)
        problem_fields(one)


@pytest.mark.parametrize("who", CALLERS)
def test_who_pauses_and_deletes_an_alert_rule(api, rule, who):
    caller = api.as_(who)
    paused = caller.patch(f"/alert-rules/{rule.pk}", {"is_active": False})
    assert paused.status_code == WRITE[who]
    rule.refresh_from_db()
    assert rule.is_active is (WRITE[who] != 200)
    deleted = caller.delete(f"/alert-rules/{rule.pk}")
    assert deleted.status_code == (204 if WRITE[who] == 200 else WRITE[who])
    assert AlertRule.objects.filter(pk=rule.pk).exists() is (WRITE[who] != 200)


def test_an_analyst_creates_a_rule_and_changes_its_conditions(api, bank):
    analyst = api.as_("analyst")
    created = analyst.post(
        "/alert-rules",
        {
            "name": "Rude staff",
            "conditions": [*DETRACTORS, RUDE],
            "priority": "urgent",
            "survey_id": bank.survey.pk,
        },
    )
    assert created.status_code == 201
    rule = AlertRule.objects.get(name="Rude staff")
    assert created.json() == rule_json(rule)
    assert rule.program_id == bank.survey.program_id  # a rule about a survey is its program's
    assert rule.conditions == [
        {"kind": "loyalty", "question": "ltr", "classes": ["detractor"]},
        RUDE,
    ]
    changed = analyst.patch(f"/alert-rules/{rule.pk}", {"conditions": [RUDE]})
    assert changed.status_code == 200
    assert changed.json()["conditions"] == [RUDE]


@pytest.mark.parametrize(
    ("conditions", "fields"),
    [
        ([], ["conditions"]),
        (
            [{"kind": "loyalty", "question": "ltr", "classes": ["angry"]}],
            ["conditions[0].classes[0]"],
        ),
        ([{"kind": "mood", "question": "ltr"}], ["conditions[0].kind"]),
        (
            [{"kind": "words", "question": "comment", "phrases": {"en": ["rude", ""]}}],
            ["conditions[0].phrases.en[1]"],
        ),
        (
            [{"kind": "answer", "question": "reasons", "options": ["parking"]}],
            ["conditions[0].options[0]"],
        ),
        (
            [{"kind": "loyalty", "question": "comment", "classes": ["detractor"]}],
            ["conditions[0].question"],
        ),
    ],
)
def test_a_rule_that_is_not_valid_names_the_failing_part(api, bank, conditions, fields):
    response = api.as_("analyst").post(
        "/alert-rules", {"name": "Wrong", "conditions": conditions, "survey_id": bank.survey.pk}
    )
    assert response.status_code == 422
    assert problem_fields(response) == fields
    assert not AlertRule.objects.filter(name="Wrong").exists()


def test_a_rule_name_is_used_once(api, rule):
    response = api.as_("admin").post("/alert-rules", {"name": rule.name, "conditions": DETRACTORS})
    assert (response.status_code, problem_fields(response)) == (409, ["name"])
    assert AlertRule.objects.count() == 1
