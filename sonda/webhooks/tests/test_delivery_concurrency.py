"""Two workers delivering at the same moment on PostgreSQL: SKIP LOCKED gives each delivery to
one of them, so no delivery is sent twice or marked twice, and none is left behind."""

import functools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from sonda.webhooks.delivery import webhooks_deliver_due
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery
from sonda.webhooks.services import webhook_emit
from sonda.webhooks.tests.conftest import NOON, Receiver, about, register

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def queue_events(world: Any, count: int) -> None:
    for number in range(count):
        webhook_emit(
            organisation_id=world.org.pk,
            event_type="case.opened",
            event_id=f"evt_{number:03}",
            payload={"case": {"id": number}},
            occurred_at=NOON,
        )


def test_two_workers_at_once_never_deliver_or_mark_one_delivery_twice(world, receiver: Receiver):
    receiver.delay = 0.01  # answers overlap: both workers are mid-batch together
    register(world, receiver.url, "case.opened")
    queue_events(world, 40)

    counts = at_once([functools.partial(webhooks_deliver_due, now=NOON)] * 2)

    assert sum(counts) == 40
    deliveries = list(WebhookDelivery.objects.all())
    assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.DELIVERED, 1)}
    assert all(about(d.delivered_at, NOON) for d in deliveries)
    keys = [request.headers["Idempotency-Key"] for request in receiver.requests]
    assert Counter(keys) == Counter({d.idempotency_key: 1 for d in deliveries})


def test_two_workers_retrying_a_failing_receiver_send_each_attempt_once(world, receiver: Receiver):
    receiver.fail_every_other = True
    register(world, receiver.url, "case.opened")
    queue_events(world, 20)
    now = NOON
    for _run in range(20):
        at_once([functools.partial(webhooks_deliver_due, now=now)] * 2)
        waiting = WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED)
        if not waiting.exists():
            break
        now = min(d.next_attempt_at for d in waiting)

    deliveries = list(WebhookDelivery.objects.all())
    assert {d.status for d in deliveries} <= {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}
    delivered = [d for d in deliveries if d.status == DeliveryStatus.DELIVERED]
    assert receiver.accepted == Counter({d.idempotency_key: 1 for d in delivered})
    # Every request the receiver saw was one counted attempt: none was sent by both workers.
    assert len(receiver.requests) == sum(d.attempts for d in deliveries)
