"""/webhooks: admins register endpoints, read their deliveries and send a test event.

Webhooks hand the organisation's data to another system, so they are the admins' alone: other
roles are refused the list (403) and do not find an endpoint (404), whatever they send; another
organisation's admin does not find ours either.
"""

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.webhooks.delivery import webhooks_deliver_due
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sonda.webhooks.services import webhook_emit
from sonda.webhooks.tests.conftest import NOON, register

URL = "https://crm.example/hooks/sonda"

LIST = {
    "anonymous": 401,
    "outsider": 200,  # their own organisation's, none of ours
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 403,
    "admin": 200,
}
OBJECT = {**dict.fromkeys(CALLERS, 404), "anonymous": 401, "admin": 200}
CREATE = {**LIST, "outsider": 201, "admin": 201}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def crm(world) -> WebhookEndpoint:
    return register(world, URL, "case.opened", "case.closed", description="CRM").endpoint


def endpoint_json(endpoint: WebhookEndpoint, **changes) -> dict[str, object]:
    encode = DjangoJSONEncoder().default
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "active": endpoint.active,
        "previous_secret_expires_at": None,
        "created_by": endpoint.created_by.email if endpoint.created_by else None,
        "created_at": encode(endpoint.created_at),
        "updated_at": encode(endpoint.updated_at),
        **changes,
    }


def emit(world, event_id: str = "evt_1") -> None:
    webhook_emit(
        organisation_id=world.org.pk,
        event_type="case.opened",
        event_id=event_id,
        payload={"case": {"id": event_id}},
        occurred_at=NOON,
    )


# Who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_endpoints(api, crm, who):
    response = api.as_(who).get("/webhooks")
    assert response.status_code == LIST[who]
    if who == "outsider":
        assert response.json() == {"count": 0, "items": []}
    elif response.status_code == 200:
        assert response.json() == {"count": 1, "items": [endpoint_json(crm)]}
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_an_endpoint(api, crm, who):
    response = api.as_(who).get(f"/webhooks/{crm.pk}")
    assert response.status_code == OBJECT[who]
    if response.status_code == 200:
        assert response.json() == endpoint_json(crm)
        assert "secret" not in response.json()
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_register_an_endpoint(api, world, who):
    response = api.as_(who).post("/webhooks", {"url": URL, "event_types": ["case.closed"]})
    assert response.status_code == CREATE[who]
    created = WebhookEndpoint.objects.filter(url=URL)
    assert created.count() == (1 if CREATE[who] == 201 else 0)
    if response.status_code == 201:
        endpoint = created.get()
        assert endpoint.organisation == (world.other_org if who == "outsider" else world.org)
        assert response.json() == endpoint_json(endpoint, secret=endpoint.secret)
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_an_endpoint(api, crm, who):
    # Sent invalid on purpose: those who may not see the endpoint hear 404 before any 422.
    response = api.as_(who).patch(f"/webhooks/{crm.pk}", {"description": "Sales CRM"})
    invalid = api.as_(who).patch(f"/webhooks/{crm.pk}", {"url": "http://crm.example/"})
    assert response.status_code == OBJECT[who]
    assert invalid.status_code == (422 if who == "admin" else OBJECT[who])
    stored = WebhookEndpoint.objects.get(pk=crm.pk)
    assert (stored.description, stored.url) == ("Sales CRM" if who == "admin" else "CRM", URL)
    if response.status_code == 200:
        assert response.json() == endpoint_json(stored)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_remove_an_endpoint(api, world, crm, who):
    emit(world, "evt_1")
    response = api.as_(who).delete(f"/webhooks/{crm.pk}")
    removed = who == "admin"
    assert response.status_code == (204 if removed else OBJECT[who])
    assert WebhookEndpoint.objects.filter(pk=crm.pk).exists() is not removed
    assert WebhookDelivery.objects.count() == (0 if removed else 1)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_the_deliveries(api, world, crm, who):
    emit(world, "evt_1")
    response = api.as_(who).get(f"/webhooks/{crm.pk}/deliveries")
    assert response.status_code == OBJECT[who]
    if response.status_code == 200:
        assert response.json()["count"] == 1
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_send_a_test_event(api, crm, who):
    response = api.as_(who).post(f"/webhooks/{crm.pk}/test")
    assert response.status_code == (202 if who == "admin" else OBJECT[who])
    assert WebhookDelivery.objects.count() == (1 if who == "admin" else 0)


# What an admin does ----------------------------------------------------------------------------


def test_the_secret_is_shown_only_when_the_endpoint_is_registered(api):
    admin = api.as_("admin")
    created = admin.post(
        "/webhooks",
        {"url": URL, "event_types": ["case.opened", "case.closed", "case.opened"]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["event_types"] == ["case.opened", "case.closed"]  # each once, in order
    assert (body["active"], body["description"], body["created_by"]) == (
        True,
        "",
        "admin@banca.example",
    )
    assert "secret" not in admin.get(f"/webhooks/{endpoint.pk}").json()
    assert "secret" not in admin.get("/webhooks").json()["items"][0]
    assert "secret" not in admin.patch(f"/webhooks/{endpoint.pk}", {"active": False}).json()


def test_registering_changing_removing_and_testing_are_audited_without_the_secret(api, crm):
    admin = api.as_("admin")
    admin.patch(f"/webhooks/{crm.pk}", {"event_types": ["case.escalated"]})
    admin.post(f"/webhooks/{crm.pk}/test")
    admin.delete(f"/webhooks/{crm.pk}")

    events = AuditEvent.objects.filter(target_type="webhookendpoint").order_by("id")
    assert [e.action for e in events] == [
        "webhook.created",
        "webhook.changed",
        "webhook.test_sent",
        "webhook.deleted",
    ]
    assert events[1].detail == {
        "before": {"event_types": ["case.opened", "case.closed"]},
        "after": {"event_types": ["case.escalated"]},
    }
    assert all(crm.secret not in str(e.detail) for e in events)


def test_an_admin_changes_what_is_given_and_leaves_the_rest(api, crm):
    response = api.as_("admin").patch(
        f"/webhooks/{crm.pk}",
        {"url": "https://crm.example/v2/hooks", "event_types": ["case.coded"], "active": False},
    )
    assert response.status_code == 200, response.content
    stored = WebhookEndpoint.objects.get(pk=crm.pk)
    assert (stored.url, stored.event_types, stored.active, stored.description) == (
        "https://crm.example/v2/hooks",
        ["case.coded"],
        False,
        "CRM",
    )
    assert stored.secret == crm.secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not an address"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "ftp://crm.example/in"}, "url"),
        ({"url": "http://crm.example/in"}, "url"),  # https only
        ({"url": "https://user:secret@crm.example/in"}, "url"),
        ({"url": "https://crm.example/in#part"}, "url"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "https://[fe80::1]/in"}, "url"),
        ({"url": "https://0.0.0.0/in"}, "url"),
        ({"url": "https://crm.example/" + "x" * 2000}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["case.opened", "case.deleted"]}, "event_types[1]"),
        ({"event_types": ["webhook.test"]}, "event_types[0]"),
        ({"description": "x" * 201}, "description"),
        ({"secret": "mine"}, "secret"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_field(api, body, field):
    response = api.as_("admin").post(
        "/webhooks", {"url": URL, "event_types": ["case.opened"], **body}
    )
    assert response.status_code == 422, response.content
    assert problem_fields(response) == [field]
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("missing", ["url", "event_types"])
def test_an_endpoint_needs_an_address_and_event_types(api, missing):
    body = {"url": URL, "event_types": ["case.opened"]}
    del body[missing]
    response = api.as_("admin").post("/webhooks", body)
    assert response.status_code == 422
    assert problem_fields(response) == [missing]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://crm.example/in"}, "url"),
        ({"event_types": ["case.opened", 3]}, "event_types[1]"),
        ({"active": None}, "active"),
        ({"url": None}, "url"),
        ({"created_by": "me"}, "created_by"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(api, crm, body, field):
    response = api.as_("admin").patch(f"/webhooks/{crm.pk}", body)
    assert response.status_code == 422, response.content
    assert problem_fields(response) == [field]
    stored = WebhookEndpoint.objects.get(pk=crm.pk)
    assert (stored.url, stored.event_types, stored.active) == (
        URL,
        ["case.opened", "case.closed"],
        True,
    )


def test_plain_http_to_loopback_is_for_development_only(api, settings):
    loopback = {"url": "http://127.0.0.1:8080/in", "event_types": ["case.opened"]}
    assert api.as_("admin").post("/webhooks", loopback).status_code == 201

    settings.TESTING = False
    settings.DEBUG = False
    for url in ("http://127.0.0.1:8080/in", "https://localhost/in", "https://[::1]/in"):
        response = api.as_("admin").post("/webhooks", {**loopback, "url": url})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "url", "message": "a loopback address can only be used in development"}
        ]
    private = {**loopback, "url": "https://10.20.0.5/crm/hooks"}  # an on-premise CRM
    assert api.as_("admin").post("/webhooks", private).status_code == 201


def test_a_test_event_is_queued_for_the_endpoint_and_shown_in_its_deliveries(api, crm):
    admin = api.as_("admin")
    response = admin.post(f"/webhooks/{crm.pk}/test")
    assert response.status_code == 202, response.content
    delivery = WebhookDelivery.objects.get()
    body = response.json()
    assert (body["id"], body["event_type"], body["status"], body["attempts"]) == (
        delivery.pk,
        "webhook.test",
        "queued",
        0,
    )
    assert body["event_id"].startswith("test_")
    assert body["payload"]["endpoint_id"] == crm.pk
    assert admin.get(f"/webhooks/{crm.pk}/deliveries").json()["items"] == [body]


def test_an_inactive_endpoint_gets_no_test_event(api, crm):
    admin = api.as_("admin")
    admin.patch(f"/webhooks/{crm.pk}", {"active": False})
    response = admin.post(f"/webhooks/{crm.pk}/test")
    assert response.status_code == 409
    assert problem_fields(response) == ["active"]
    assert WebhookDelivery.objects.count() == 0


def test_deliveries_are_listed_newest_first_with_their_status_and_filtered(api, world, receiver):
    receiver.script = [200, 410]
    endpoint = register(world, receiver.url, "case.opened").endpoint
    for number in range(3):
        emit(world, f"evt_{number}")
    webhooks_deliver_due(now=NOON)  # evt_0 delivered, evt_1 refused with 410, evt_2 delivered
    admin = api.as_("admin")

    listed = admin.get(f"/webhooks/{endpoint.pk}/deliveries").json()
    assert listed["count"] == 3
    rows = [
        (d["event_id"], d["status"], d["attempts"], d["last_status_code"], d["next_attempt_at"])
        for d in listed["items"]
    ]
    assert rows == [
        ("evt_2", "delivered", 1, 200, None),
        ("evt_1", "failed", 1, 410, None),
        ("evt_0", "delivered", 1, 200, None),
    ]
    assert listed["items"][1]["last_error"] == "answered 410: receiver says no"

    failed = admin.get(f"/webhooks/{endpoint.pk}/deliveries", status="failed").json()
    assert [d["event_id"] for d in failed["items"]] == ["evt_1"]
    refused = admin.get(f"/webhooks/{endpoint.pk}/deliveries", status="lost")
    assert refused.status_code == 422
    assert problem_fields(refused) == ["status"]


def test_a_queued_delivery_says_when_it_is_tried_next(api, world, crm):
    emit(world, "evt_1")
    [item] = api.as_("admin").get(f"/webhooks/{crm.pk}/deliveries").json()["items"]
    assert (item["status"], item["next_attempt_at"]) == (
        DeliveryStatus.QUEUED,
        DjangoJSONEncoder().default(NOON),
    )


def test_lists_take_the_same_number_of_queries_however_long(api, world, crm):
    admin = api.as_("admin")

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin.get(path).status_code == 200
        return len(captured)

    emit(world, "evt_0")
    queries("/webhooks")  # the token's first use records its last use (once a minute)
    one = (queries("/webhooks"), queries(f"/webhooks/{crm.pk}/deliveries"))
    for number in range(1, 6):
        register(world, f"https://crm{number}.example/in", "case.opened")
        emit(world, f"evt_{number}")
    assert (queries("/webhooks"), queries(f"/webhooks/{crm.pk}/deliveries")) == one
