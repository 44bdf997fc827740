"""Delivery against a real receiver on loopback: 2xx is delivered once; 5xx, 429 and timeouts
are retried after 1, 5, 25 and 125 minutes and then fail; other 4xx and redirects fail at once;
a receiver failing half the time still gets every event marked delivered exactly once; a worker
that lost its lease can neither mark a delivery twice nor overwrite the newer attempt.

The clock is passed in (`now=`) instead of slept through."""

import socket
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from sonda.webhooks.delivery import webhooks_claim, webhooks_deliver_due
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery
from sonda.webhooks.services import (
    webhook_emit,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
)
from sonda.webhooks.tests.conftest import NOON, about, register

MINUTE = timedelta(minutes=1)


def emit(world, event_id: str = "evt_1", event_type: str = "case.opened") -> None:
    webhook_emit(
        organisation_id=world.org.pk,
        event_type=event_type,
        event_id=event_id,
        payload={"case": {"id": event_id}},
        occurred_at=NOON,
    )


def fresh(delivery: WebhookDelivery | None = None) -> WebhookDelivery:
    if delivery is None:
        return WebhookDelivery.objects.get()
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_2xx_marks_the_delivery_delivered(world, endpoint, receiver):
    receiver.script = [202]
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 1

    delivery = fresh()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 202)
    assert about(delivery.delivered_at, NOON)
    assert delivery.last_attempt_at == delivery.delivered_at
    assert (delivery.lease_until, delivery.last_error) == (None, "")
    assert webhooks_deliver_due(now=NOON + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1
    assert receiver.requests[0].path == "/hooks/sonda"


def test_nothing_is_sent_before_it_is_due(world, endpoint, receiver):
    emit(world)
    assert webhooks_deliver_due(now=NOON - MINUTE) == 0
    assert receiver.requests == []
    assert fresh().status == DeliveryStatus.QUEUED


def test_5xx_answers_are_retried_with_backoff_then_the_delivery_fails(world, endpoint, receiver):
    receiver.script = [500, 502, 503, 500, 500]
    emit(world)
    now = NOON
    for attempt, wait in enumerate([1, 5, 25, 125], start=1):
        assert webhooks_deliver_due(now=now) == 0
        delivery = fresh()
        assert (delivery.status, delivery.attempts) == ("queued", attempt)
        assert about(delivery.next_attempt_at, now + wait * MINUTE)
        assert delivery.last_error.startswith(f"answered {delivery.last_status_code}: ")
        # Not a moment before it is due.
        assert webhooks_deliver_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0
        assert len(receiver.requests) == attempt
        now = delivery.next_attempt_at

    assert webhooks_deliver_due(now=now) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert about(delivery.failed_at, now)
    assert (delivery.last_status_code, delivery.delivered_at) == (500, None)
    assert "receiver says no" in delivery.last_error
    assert webhooks_deliver_due(now=now + timedelta(days=1)) == 0
    assert len(receiver.requests) == 5
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1


def test_a_retry_that_succeeds_is_delivered(world, endpoint, receiver):
    receiver.script = [503, 429, 408]
    emit(world)
    now = NOON
    for _failure in range(3):
        webhooks_deliver_due(now=now)
        now = fresh().next_attempt_at
    assert fresh().last_status_code == 408

    assert webhooks_deliver_due(now=now) == 1

    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert about(delivery.delivered_at, now)
    assert receiver.accepted == Counter({delivery.idempotency_key: 1})


def test_a_receiver_that_does_not_answer_in_time_is_tried_again_later(world, endpoint, receiver):
    receiver.delay = 1.0  # it answers, but after Sonda stopped waiting
    emit(world)

    assert webhooks_deliver_due(now=NOON, timeout=0.2) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", 1, None)
    assert delivery.last_error == "no answer in time"
    assert about(delivery.next_attempt_at, NOON + MINUTE)
    receiver.delay = 0
    assert webhooks_deliver_due(now=delivery.next_attempt_at, timeout=0.2) == 1
    assert fresh().status == DeliveryStatus.DELIVERED
    # The late answer was a 2xx too: the receiver saw the delivery twice, with the same key.
    assert len(receiver.requests) == 2
    assert (
        receiver.requests[0].headers["Idempotency-Key"]
        == (receiver.requests[1].headers["Idempotency-Key"])
    )


def test_an_endpoint_that_does_not_answer_holds_its_other_deliveries_without_an_attempt(
    world, endpoint, receiver, start_receiver
):
    other = start_receiver()
    register(world, other.url, "case.opened")
    receiver.delay = 1.0
    for number in range(3):
        emit(world, event_id=f"evt_{number}")

    assert webhooks_deliver_due(now=NOON, timeout=0.2) == 3

    mine = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("event_id")
    assert [(d.status, d.attempts) for d in mine] == [
        ("queued", 1),
        ("queued", 0),
        ("queued", 0),
    ]
    assert all(about(d.next_attempt_at, NOON + MINUTE) for d in mine)
    assert {d.last_error for d in mine} == {"no answer in time"}
    assert len(receiver.requests) == 1  # one timeout, not three
    assert sorted(other.accepted.values()) == [1, 1, 1]  # the other endpoint is not held up


def test_an_endpoint_that_refuses_connections_is_retried(world, receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        register(world, f"http://127.0.0.1:{sock.getsockname()[1]}/in", "case.opened")
        emit(world)
        assert webhooks_deliver_due(now=NOON) == 0
    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert delivery.last_error.startswith("cannot reach it")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_a_4xx_other_than_408_and_429_fails_at_once(world, endpoint, receiver, status):
    receiver.script = [status]
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed",
        1,
        status,
    )
    assert about(delivery.failed_at, NOON)
    assert delivery.last_error == f"answered {status}: receiver says no"
    assert webhooks_deliver_due(now=NOON + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_fails_at_once(world, endpoint, receiver, status):
    receiver.script = [status]
    emit(world)

    webhooks_deliver_due(now=NOON)

    delivery = fresh()
    assert (delivery.status, delivery.last_status_code) == ("failed", status)
    assert delivery.last_error == (
        f"answered {status} (redirects are not followed; Location: /elsewhere)"
    )
    assert [r.path for r in receiver.requests] == ["/hooks/sonda"]  # /elsewhere never asked


def test_with_a_receiver_failing_every_other_request_every_event_is_delivered_exactly_once(
    world, endpoint, receiver
):
    receiver.fail_every_other = True
    for number in range(12):
        emit(world, event_id=f"evt_{number:02}")
    now = NOON
    for _run in range(20):
        webhooks_deliver_due(now=now)
        waiting = WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED)
        if not waiting.exists():
            break
        now = min(d.next_attempt_at for d in waiting)

    deliveries = list(WebhookDelivery.objects.order_by("event_id"))
    assert {d.status for d in deliveries} == {DeliveryStatus.DELIVERED}
    assert set(receiver.accepted) == {d.idempotency_key for d in deliveries}
    assert set(receiver.accepted.values()) == {1}
    # Every other request failed: as many failures as deliveries, some of them retried up to
    # the fifth and last attempt.
    assert len(receiver.requests) == 24
    assert sum(d.attempts for d in deliveries) == 24
    assert max(d.attempts for d in deliveries) == 5


def test_a_worker_that_dies_after_claiming_loses_and_duplicates_nothing(world, endpoint, receiver):
    for number in range(3):
        emit(world, event_id=f"evt_{number}")
    assert len(webhooks_claim(now=NOON)) == 3  # the worker dies before sending

    assert webhooks_deliver_due(now=NOON + MINUTE) == 0  # the lease still holds
    assert webhooks_deliver_due(now=NOON + 6 * MINUTE) == 3
    assert webhooks_deliver_due(now=NOON + 20 * MINUTE) == 0

    deliveries = WebhookDelivery.objects.all()
    assert {(d.status, d.attempts) for d in deliveries} == {("delivered", 2)}
    assert receiver.accepted == Counter({d.idempotency_key: 1 for d in deliveries})


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_lease_neither_marks_twice_nor_overwrites(world, endpoint, receiver):
    """Worker A sends and its receiver answers after A's lease ran out; meanwhile worker B took
    the delivery over and got it delivered. A's late 2xx changes nothing."""
    receiver.hold_first = threading.Event()
    emit(world)
    slow: list[int] = []

    def worker() -> None:
        try:
            slow.append(webhooks_deliver_due(now=NOON, timeout=15))
        finally:
            connection.close()  # the thread's own database connection

    worker_a = threading.Thread(target=worker)
    worker_a.start()
    assert receiver.first_arrived.wait(10)

    assert webhooks_deliver_due(now=NOON + 6 * MINUTE) == 1  # worker B, after A's lease
    receiver.hold_first.set()
    worker_a.join(20)

    assert slow == [0]  # A's 2xx came, but the delivery was no longer A's to record
    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert about(delivery.delivered_at, NOON + 6 * MINUTE)
    assert len(receiver.requests) == 2
    assert receiver.accepted == Counter({delivery.idempotency_key: 2})  # deduplicated by key


def test_deliveries_to_an_endpoint_deactivated_since_they_were_queued_fail_unsent(
    world, endpoint, receiver
):
    emit(world)
    webhook_endpoint_update(scope=world.scope(world.admin), endpoint_id=endpoint.pk, active=False)

    assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.last_error) == ("failed", "the endpoint is inactive")
    assert receiver.requests == []


def test_a_loopback_endpoint_is_not_called_once_sonda_leaves_development(
    world, endpoint, receiver, settings
):
    emit(world)
    settings.TESTING = False
    settings.DEBUG = False

    webhooks_deliver_due(now=NOON)

    delivery = fresh()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == (
        "the endpoint's address: a loopback address can only be used in development"
    )
    assert receiver.requests == []


def test_a_test_event_reaches_an_endpoint_whatever_it_subscribes_to(world, endpoint, receiver):
    delivery = webhook_endpoint_send_test(scope=world.scope(world.admin), endpoint_id=endpoint.pk)
    assert webhooks_deliver_due(now=delivery.next_attempt_at) == 1
    [request] = receiver.requests
    assert request.headers["Sonda-Event"] == "webhook.test"
    assert fresh(delivery).status == DeliveryStatus.DELIVERED
