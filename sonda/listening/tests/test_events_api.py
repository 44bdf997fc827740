"""/events over the API: one event, an array or NDJSON in, per-item results, the list and one event
with its decisions, each read in the caller's scope."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.listening.models import Event
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.tests.factories import make_published_survey

OCCURRED = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)

SEND = {
    "anonymous": 401,
    "outsider": 200,  # stored in the stranger's own organisation, nothing of ours is touched
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 200,
    "admin": 200,
}
# An event at north 1.
READ = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 404,
    "frontline": 403,
    "manager_north": 200,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


def call(n: int = 1, **changes):
    return {
        "type": "call_completed",
        "occurred_at": OCCURRED.isoformat(),
        "customer": {"email": f"client{n}@mail.example"},
        "channel": "phone",
        "touchpoint": "call_centre",
        "idempotency_key": f"call-{n}",
        **changes,
    }


def ndjson(api, who, text: str):
    return Client().generic(
        "POST",
        "/api/v1/events",
        text,
        content_type="application/x-ndjson",
        headers={"Authorization": f"Bearer {api.secret(who)}"},
    )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_send_events(api, who):
    response = api.as_(who).post("/events", call(1))
    assert response.status_code == SEND[who], response.content
    if who in ("manager_north", "frontline", "executive", "manager_south"):
        assert Event.objects.count() == 0


def test_one_event_answers_its_result_and_link_invitation(api, world, settings):
    settings.SONDA_PUBLIC_URL = "https://feedback.banca.example"
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(survey=survey, delivery_order=["link"])
    response = api.as_("analyst").post("/events", call(1))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["duplicates"], body["invalid"], body["invitations"]) == (
        1,
        0,
        0,
        1,
    )
    (item,) = body["items"]
    assert item["status"] == "created"
    (invitation,) = item["invitations"]
    assert invitation["delivery"] == "link"
    assert invitation["url"].startswith("https://feedback.banca.example/s/")
    # Sent again, it is the same event and invites no one again.
    again = api.as_("analyst").post("/events", call(1)).json()
    assert again["items"][0] == {
        "index": 0,
        "status": "duplicate",
        "event_id": item["event_id"],
        "invitations": [],
        "errors": [],
    }


def test_an_array_stores_the_valid_items_and_names_the_others_by_index(api):
    response = api.as_("analyst").post(
        "/events", [call(1), call(2, occurred_at="yesterday"), call(3, type=None)]
    )
    assert response.status_code == 200
    body = response.json()
    assert [item["status"] for item in body["items"]] == ["created", "invalid", "invalid"]
    assert body["items"][1]["errors"] == [
        {
            "index": 1,
            "field": "occurred_at",
            "message": "'yesterday' is not an ISO 8601 date and time (2026-10-05T09:30:00+02:00)",
        }
    ]
    assert Event.objects.count() == 1


def test_when_every_item_fails_the_answer_is_a_problem_listing_them(api):
    response = api.as_("analyst").post("/events", [call(1, type=""), call(2, occurred_at=None)])
    assert response.status_code == 422
    assert problem_fields(response) == ["type", "occurred_at"]
    assert [error["index"] for error in response.json()["errors"]] == [0, 1]


def test_ndjson_lines_are_items_and_a_bad_line_is_an_item_error(api):
    text = "\n".join([json.dumps(call(1)), "{not json", "", json.dumps(call(2))]) + "\n"
    response = ndjson(api, "analyst", text)
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [item["status"] for item in items] == ["created", "invalid", "created"]
    assert items[1]["errors"][0]["field"] == "item"
    assert items[1]["errors"][0]["message"].startswith("line 2 is not valid JSON")


def test_another_content_type_is_refused(api):
    response = Client().post(
        "/api/v1/events",
        "type=call",
        content_type="text/plain",
        headers={"Authorization": f"Bearer {api.secret('analyst')}"},
    )
    assert response.status_code == 415
    assert problem_fields(response) == ["Content-Type"]


def test_a_body_that_is_not_json_is_malformed(api):
    response = api.as_("analyst").post("/events", raw="[{")
    assert response.status_code == 400
    assert problem_fields(response) == ["body"]


def test_more_than_10000_events_are_refused_naming_items(api):
    response = api.as_("analyst").post("/events", [{"type": "x"}] * 10_001)
    assert response.status_code == 422
    assert problem_fields(response) == ["items"]


@pytest.fixture
def stored(world):
    customer = make_customer(world.org)
    return EventFactory(organisation=world.org, customer=customer, unit=world.north_branch)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_an_event(api, stored, who):
    response = api.as_(who).get(f"/events/{stored.pk}")
    assert response.status_code == READ[who], response.content


@pytest.mark.parametrize("who", CALLERS)
def test_who_sees_which_events_in_the_list(api, world, stored, who):
    EventFactory(organisation=world.org, unit=world.south_branch)
    EventFactory(organisation=world.other_org)
    response = api.as_(who).get("/events")
    expected = {
        "anonymous": None,
        "outsider": 1,
        "manager_south": 1,
        "frontline": None,
        "manager_north": 1,
        "executive": 2,
        "analyst": 2,
        "admin": 2,
    }[who]
    if expected is None:
        assert response.status_code in (401, 403)
    else:
        assert response.json()["count"] == expected


def test_the_list_filters_by_type_customer_unit_and_time(api, world, stored):
    EventFactory(organisation=world.org, event_type="purchase", unit=world.south_branch)
    EventFactory(
        organisation=world.org,
        unit=world.north,
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    analyst = api.as_("analyst")
    assert analyst.get("/events", type="purchase").json()["count"] == 1
    assert analyst.get("/events", customer_id=stored.customer_id).json()["items"][0]["id"] == (
        stored.pk
    )
    assert analyst.get("/events", unit_id=world.north.pk).json()["count"] == 2
    assert analyst.get("/events", **{"from": "2026-01-01T00:00:00Z"}).json()["count"] == 2
    assert analyst.get("/events", to="2026-01-01T00:00:00Z").json()["count"] == 1


def test_an_event_shows_each_rules_decision_and_the_contact_rule_that_fired(api, world):
    survey = make_published_survey(world.scope(world.analyst))
    rule = TriggerRuleFactory(survey=survey, name="After a call", delivery_order=["email"])
    policy = ContactRuleFactory(organisation=world.org, name="Once a month")
    analyst = api.as_("analyst")
    first = analyst.post("/events", call(1)).json()["items"][0]
    later = call(2, customer={"email": "client1@mail.example"})
    second = analyst.post("/events", later).json()["items"][0]
    invited = analyst.get(f"/events/{first['event_id']}").json()
    assert invited["type"] == "call_completed"
    assert invited["decisions"] == [
        {
            "rule_id": rule.pk,
            "rule_name": "After a call",
            "outcome": "invited",
            "reason": None,
            "contact_rule_id": None,
            "contact_rule_name": "",
            "detail": invited["decisions"][0]["detail"],
            "invitation_id": first["invitations"][0]["id"],
            "invitation_status": "created",
        }
    ]
    skipped = analyst.get(f"/events/{second['event_id']}").json()["decisions"][0]
    assert (skipped["outcome"], skipped["reason"], skipped["contact_rule_name"]) == (
        "skipped",
        "contact_policy",
        policy.name,
    )
