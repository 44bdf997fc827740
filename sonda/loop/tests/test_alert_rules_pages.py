"""Alert rules through the pages: conditions typed one per line, errors by the line, pausing."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sonda.loop.models import AlertRule
from sonda.loop.rule_forms import conditions_parse_text, conditions_text
from sonda.loop.tests.loop_helpers import make_bank

LINES = (
    "loyalty ltr: detractor, passive\n"
    "\n"
    "score speed: ..2\n"
    "answer reasons: staff, waiting\n"
    "words comment: en = rude, slow; pl = niegrzeczn*\n"
    "competitor: Banca Verde, ING"
)
STORED: list[dict[str, Any]] = [
    {"kind": "loyalty", "question": "ltr", "classes": ["detractor", "passive"]},
    {"kind": "score", "question": "speed", "max": 2},
    {"kind": "answer", "question": "reasons", "options": ["staff", "waiting"]},
    {
        "kind": "words",
        "question": "comment",
        "phrases": {"en": ["rude", "slow"], "pl": ["niegrzeczn*"]},
    },
    {"kind": "competitor", "question": None, "names": ["Banca Verde", "ING"]},
]


@pytest.fixture
def bank(world):
    return make_bank(world)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(bank, **changes) -> dict[str, str]:
    return {
        "name": "Unhappy with staff",
        "program": "",
        "survey": str(bank.survey.pk),
        "conditions": LINES,
        "priority": "high",
        "position": "0",
        "is_active": "on",
        **changes,
    }


def test_conditions_read_back_as_they_were_typed():
    conditions, lines = conditions_parse_text(LINES)
    assert conditions == STORED
    assert lines == [1, 3, 4, 5, 6]
    assert conditions_text(STORED) == LINES.replace("\n\n", "\n")
    assert conditions_parse_text("non_response: 90")[0] == [{"kind": "non_response", "days": 90}]
    assert conditions_parse_text("score csat: 1.5..4")[0] == [
        {"kind": "score", "question": "csat", "min": 1.5, "max": 4}
    ]


def test_an_analyst_creates_a_rule_with_the_form_and_edits_it(world, bank):
    client = browser(world.analyst)
    response = client.post(reverse("loop:rule_create"), form_data(bank))
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.name, rule.priority, rule.survey, rule.program) == (
        "Unhappy with staff",
        "high",
        bank.survey,
        bank.survey.program,
    )
    assert rule.conditions == STORED
    edit = reverse("loop:rule_edit", args=[rule.pk])
    page = client.get(edit).content.decode()
    assert "words comment: en = rude, slow; pl = niegrzeczn*" in page
    assert (
        client.post(edit, form_data(bank, conditions="loyalty ltr: detractor")).status_code == 302
    )
    rule.refresh_from_db()
    assert rule.conditions == [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}]


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("loyalty ltr detractor", "Line 1: write the kind, the question if any, a colon"),
        ("loyalty ltr: detractor\nmood ltr: happy", "Line 2: “mood” is not a kind of condition"),
        ("\n\nscore speed: low", "Line 3: write the range as min..max"),
        ("loyalty ltr: detractor\nloyalty ltr: angry", "Line 2: classes[0] one of promoter"),
        ("answer reasons: parking", "Line 1: options[0] no such option of the question"),
        ("words comment: rude", "Line 1: write the phrases per language"),
        ("loyalty comment: detractor", "Line 1: question loyalty classes need a 0–10 question"),
        ("", "This field is required."),
    ],
)
def test_a_wrong_condition_is_named_by_its_line(world, bank, conditions, message):
    response = browser(world.admin).post(
        reverse("loop:rule_create"), form_data(bank, conditions=conditions)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["conditions"]
    assert message in " ".join(errors["conditions"])
    assert 'id="id_conditions_error"' in response.content.decode()
    assert not AlertRule.objects.exists()


def test_a_rule_is_paused_and_resumed_from_the_list(world, bank):
    rule = bank.rule("Detractors")
    client = browser(world.analyst)
    listed = client.get(reverse("loop:rules")).content.decode()
    assert "loyalty ltr: detractor" in listed
    active = reverse("loop:rule_active", args=[rule.pk])
    assert client.post(active, {"active": "0"}).status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False
    assert "paused" in client.get(reverse("loop:rules")).content.decode()
    client.post(active, {"active": "1"})
    rule.refresh_from_db()
    assert rule.is_active is True


@pytest.mark.parametrize(
    ("who", "status"),
    [("executive", 403), ("manager_north", 404), ("frontline", 404), ("outsider", 404)],
)
def test_others_neither_change_nor_pause_rules(world, bank, who, status):
    rule = bank.rule("Detractors")
    client = browser(world.users_by_role[who])
    assert (
        client.post(reverse("loop:rule_active", args=[rule.pk]), {"active": "0"}).status_code
        == status
    )
    edit = client.post(reverse("loop:rule_edit", args=[rule.pk]), form_data(bank, name="Mine"))
    assert edit.status_code == status
    rule.refresh_from_db()
    assert (rule.name, rule.is_active) == ("Detractors", True)
    listed = client.get(reverse("loop:rules"))
    assert listed.status_code == {"executive": 200, "outsider": 200}.get(who, 403)
