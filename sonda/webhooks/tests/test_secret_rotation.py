"""Rotating an endpoint's secret: the new secret is shown once; the previous one keeps signing
beside it until it expires, so a receiver holding either accepts every delivery meanwhile.

Deliveries go to a real receiver on loopback and are checked with the verification code of
docs/webhooks.md (and Sonda's copy of it). The clock is passed in (`now=`), not waited for.
"""

import re
from datetime import datetime, timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.core.errors import ValidationFailed
from sonda.webhooks.delivery import webhooks_deliver_due
from sonda.webhooks.models import WebhookEndpoint
from sonda.webhooks.services import (
    RotatedSecret,
    webhook_emit,
    webhook_endpoint_rotate_secret,
)
from sonda.webhooks.signing import secret_generate, signature
from sonda.webhooks.tests.conftest import NOON, Received, Receiver
from sonda.webhooks.tests.test_signing import HELPERS
from sonda.webhooks.tests.test_webhooks_api import endpoint_json

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
# Rotating is changing the endpoint: its admins only; nobody else finds it.
ROTATE = {**dict.fromkeys(CALLERS, 404), "anonymous": 401, "admin": 200}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


def path(endpoint: WebhookEndpoint) -> str:
    return f"/webhooks/{endpoint.pk}/rotate-secret"


def rotate(world, endpoint: WebhookEndpoint, *, hours: int = 24, at: datetime = NOON):
    return webhook_endpoint_rotate_secret(
        scope=world.scope(world.admin),
        endpoint_id=endpoint.pk,
        previous_valid_hours=hours,
        now=at,
    )


def emit(world, event_id: str, at: datetime = NOON) -> None:
    webhook_emit(
        organisation_id=world.org.pk,
        event_type="case.opened",
        event_id=event_id,
        payload={"case": {"id": event_id}},
        occurred_at=at,
    )


def send(world, receiver: Receiver, event_id: str, *, at: datetime) -> Received:
    """An event emitted and sent at `at`: the request that reached the receiver."""
    emit(world, event_id, at)
    assert webhooks_deliver_due(now=at) == 1
    return receiver.requests[-1]


def signed_with(request: Received) -> list[str]:
    """The `v1=` values of the request's signature header, in order, after checking its form."""
    header = request.headers["Sonda-Signature"]
    assert re.fullmatch(r"t=\d+(,v1=[0-9a-f]{64})+", header), header
    return header.split(",")[1:]


def expected(request: Received, *secrets: str) -> list[str]:
    """The `v1=` values that signing the request's body with these secrets gives."""
    stamp = int(request.headers["Sonda-Signature"].split(",")[0].removeprefix("t="))
    return [f"v1={signature(secret, stamp, request.body)}" for secret in secrets]


def verifies(helper: str, secret: str, request: Received) -> bool:
    header = request.headers["Sonda-Signature"]
    stamp = int(header.split(",")[0].removeprefix("t="))
    return bool(HELPERS[helper](secret, header, request.body, now=stamp))


def state(endpoint: WebhookEndpoint) -> tuple[object, ...]:
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    return (
        stored.secret,
        stored.previous_secret,
        stored.previous_secret_expires_at,
        stored.updated_at,
    )


# Who may rotate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_rotate_a_secret(api, endpoint, who):
    before = state(endpoint)
    response = api.as_(who).post(path(endpoint), {"previous_valid_hours": 1})
    assert response.status_code == ROTATE[who]
    rotated = AuditEvent.objects.filter(action="webhook.secret_rotated")
    if who == "admin":
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
        assert response.json()["secret"] == stored.secret != endpoint.secret
        assert stored.previous_secret == endpoint.secret
        assert rotated.count() == 1
    else:
        problem_fields(response)
        assert state(endpoint) == before
        assert rotated.count() == 0


def test_another_organisations_admin_does_not_find_the_endpoint(api, world, endpoint):
    before = state(endpoint)
    response = api.as_("outsider").post(path(endpoint), {"previous_valid_hours": 0})
    assert response.status_code == 404
    assert response.json()["detail"] == "No such webhook endpoint."
    assert state(endpoint) == before


# What the answer and the reads show --------------------------------------------------------------


def test_rotating_answers_the_new_secret_once_and_reads_never_show_it(api, endpoint):
    admin = api.as_("admin")
    asked = timezone.now()
    response = admin.post(path(endpoint), {"previous_valid_hours": 48})
    answered = timezone.now()
    assert response.status_code == 200, response.content

    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    new, old = stored.secret, endpoint.secret
    assert new != old
    assert new.startswith("whsec_")
    assert (stored.previous_secret, stored.url, stored.event_types, stored.active) == (
        old,
        endpoint.url,
        ["case.opened", "case.closed"],
        True,
    )
    expires = stored.previous_secret_expires_at
    assert expires is not None
    assert asked + 48 * HOUR <= expires <= answered + 48 * HOUR
    shown = DjangoJSONEncoder().default(expires)
    assert response.json() == endpoint_json(stored, secret=new, previous_secret_expires_at=shown)

    read = admin.get(f"/webhooks/{endpoint.pk}")
    listed = admin.get("/webhooks")
    assert read.json() == endpoint_json(stored, previous_secret_expires_at=shown)
    assert listed.json()["items"] == [read.json()]
    for answer in (read, listed):
        assert new not in answer.content.decode()
        assert old not in answer.content.decode()


def test_without_a_body_field_the_previous_secret_signs_for_a_day(api, endpoint):
    asked = timezone.now()
    response = api.as_("admin").post(path(endpoint), {})
    answered = timezone.now()
    assert response.status_code == 200, response.content
    expires = WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret_expires_at
    assert expires is not None
    assert asked + 24 * HOUR <= expires <= answered + 24 * HOUR


def test_an_overlap_that_ran_out_is_shown_as_none(api, world, endpoint):
    rotate(world, endpoint, hours=1, at=timezone.now() - 2 * HOUR)
    read = api.as_("admin").get(f"/webhooks/{endpoint.pk}").json()
    assert read["previous_secret_expires_at"] is None


def test_rotating_is_audited_without_either_secret(api, world, endpoint):
    response = api.as_("admin").post(path(endpoint), {"previous_valid_hours": 2})
    expires = WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret_expires_at
    assert expires is not None

    event = AuditEvent.objects.get(action="webhook.secret_rotated")
    assert (event.target_type, event.target_id, event.actor_id, event.organisation_id) == (
        "webhookendpoint",
        str(endpoint.pk),
        world.admin.pk,
        world.org.pk,
    )
    assert event.detail == {"previous_valid_hours": 2, "previous_expires_at": expires.isoformat()}
    assert response.json()["secret"] not in str(event.detail)
    assert endpoint.secret not in str(event.detail)


# What deliveries carry ---------------------------------------------------------------------------


@pytest.mark.parametrize("helper", list(HELPERS))
def test_during_the_overlap_a_delivery_verifies_with_either_secret(
    world, endpoint, receiver, helper
):
    old = endpoint.secret
    emit(world, "evt_queued_before")  # queued before the rotation, sent after it
    rotated = rotate(world, endpoint, hours=24, at=NOON)
    assert rotated.previous_expires_at == NOON + 24 * HOUR

    assert webhooks_deliver_due(now=NOON + HOUR) == 1
    [request] = receiver.requests

    assert signed_with(request) == expected(request, rotated.secret, old)
    assert verifies(helper, rotated.secret, request) is True
    assert verifies(helper, old, request) is True
    assert verifies(helper, secret_generate(), request) is False


@pytest.mark.parametrize("helper", list(HELPERS))
def test_a_delivery_rotated_through_the_api_verifies_with_either_secret(
    api, world, endpoint, receiver, helper
):
    response = api.as_("admin").post(path(endpoint), {"previous_valid_hours": 1})
    new, old = response.json()["secret"], endpoint.secret

    request = send(world, receiver, "evt_1", at=timezone.now())

    assert signed_with(request) == expected(request, new, old)
    assert (verifies(helper, new, request), verifies(helper, old, request)) == (True, True)


@pytest.mark.parametrize("helper", list(HELPERS))
def test_once_the_overlap_runs_out_only_the_new_secret_signs(world, endpoint, receiver, helper):
    old = endpoint.secret
    new = rotate(world, endpoint, hours=24, at=NOON).secret

    last_minute = send(world, receiver, "evt_1", at=NOON + 24 * HOUR - MINUTE)
    after = send(world, receiver, "evt_2", at=NOON + 24 * HOUR)
    day_later = send(world, receiver, "evt_3", at=NOON + 48 * HOUR)

    assert signed_with(last_minute) == expected(last_minute, new, old)
    for request in (after, day_later):
        assert signed_with(request) == expected(request, new)
        assert verifies(helper, new, request) is True
        assert verifies(helper, old, request) is False


@pytest.mark.parametrize("helper", list(HELPERS))
def test_no_overlap_stops_the_old_secret_at_once(api, world, endpoint, receiver, helper):
    old = endpoint.secret
    response = api.as_("admin").post(path(endpoint), {"previous_valid_hours": 0})
    assert response.status_code == 200, response.content
    new = response.json()["secret"]
    assert response.json()["previous_secret_expires_at"] is None
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    # The replaced secret is not kept at all.
    assert (stored.secret, stored.previous_secret, stored.previous_secret_expires_at) == (
        new,
        "",
        None,
    )

    request = send(world, receiver, "evt_1", at=timezone.now())

    assert signed_with(request) == expected(request, new)
    assert (verifies(helper, new, request), verifies(helper, old, request)) == (True, False)


def test_rotating_during_an_overlap_keeps_only_the_latest_previous_secret(
    world, endpoint, receiver
):
    first = endpoint.secret
    second: RotatedSecret = rotate(world, endpoint, hours=24, at=NOON)
    third: RotatedSecret = rotate(world, endpoint, hours=2, at=NOON + HOUR)
    assert third.previous_expires_at == NOON + 3 * HOUR
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.previous_secret, stored.previous_secret_expires_at) == (
        third.secret,
        second.secret,
        NOON + 3 * HOUR,
    )

    request = send(world, receiver, "evt_1", at=NOON + 2 * HOUR)

    assert signed_with(request) == expected(request, third.secret, second.secret)
    for helper in HELPERS:
        assert verifies(helper, first, request) is False


def test_rotating_without_overlap_during_an_overlap_drops_both_old_secrets(
    world, endpoint, receiver
):
    rotate(world, endpoint, hours=24, at=NOON)
    latest = rotate(world, endpoint, hours=0, at=NOON + HOUR)

    request = send(world, receiver, "evt_1", at=NOON + 2 * HOUR)

    assert signed_with(request) == expected(request, latest.secret)


# Refused rotations change nothing ----------------------------------------------------------------


@pytest.mark.parametrize("hours", [-1, 169, "x", "24", True, 1.5, None])
def test_hours_outside_0_to_168_are_refused_naming_the_field(api, endpoint, hours):
    before = state(endpoint)
    response = api.as_("admin").post(path(endpoint), {"previous_valid_hours": hours})
    assert response.status_code == 422, response.content
    assert problem_fields(response) == ["previous_valid_hours"]
    assert state(endpoint) == before
    assert not AuditEvent.objects.filter(action="webhook.secret_rotated").exists()


def test_an_unknown_field_is_refused_naming_it(api, endpoint):
    before = state(endpoint)
    response = api.as_("admin").post(path(endpoint), {"secret": "whsec_mine"})
    assert response.status_code == 422, response.content
    assert problem_fields(response) == ["secret"]
    assert state(endpoint) == before


@pytest.mark.parametrize(
    ("hours", "message"),
    [(-1, "from 0 to 168 hours"), (169, "from 0 to 168 hours"), (True, "a whole number of hours")],
)
def test_the_service_refuses_hours_outside_0_to_168(world, endpoint, hours, message):
    before = state(endpoint)
    with pytest.raises(ValidationFailed) as refused:
        rotate(world, endpoint, hours=hours)
    assert [e.as_dict() for e in refused.value.errors] == [
        {"field": "previous_valid_hours", "message": message}
    ]
    assert state(endpoint) == before
