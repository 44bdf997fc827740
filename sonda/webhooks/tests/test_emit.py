"""webhook_emit: an event becomes one delivery per active endpoint subscribed to its type, in the
caller's transaction, once per event id."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from sonda.core.errors import ValidationFailed
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery
from sonda.webhooks.services import webhook_emit, webhook_endpoint_update
from sonda.webhooks.tests.conftest import NOON, register

URL = "https://crm.example/hooks/sonda"


def emit(world, event_id: str = "evt_1", event_type: str = "case.opened", **options) -> int:
    options.setdefault("payload", {"case": {"id": 7, "state": "new"}})
    return webhook_emit(
        organisation_id=world.org.pk, event_type=event_type, event_id=event_id, **options
    )


def test_an_event_is_queued_for_each_active_endpoint_subscribed_to_its_type(world):
    crm = register(world, URL, "case.opened", "case.closed").endpoint
    helpdesk = register(world, "https://helpdesk.example/in", "case.opened").endpoint
    register(world, "https://bi.example/in", "case.closed")  # not subscribed
    register(world, "https://old.example/in", "case.opened", active=False)
    stranger = register(world, URL, "case.opened").endpoint
    stranger.organisation = world.other_org
    stranger.save()

    assert emit(world, occurred_at=NOON) == 2

    deliveries = WebhookDelivery.objects.order_by("endpoint_id")
    assert [(d.endpoint, d.organisation, d.event_id, d.event_type) for d in deliveries] == [
        (crm, world.org, "evt_1", "case.opened"),
        (helpdesk, world.org, "evt_1", "case.opened"),
    ]
    for delivery in deliveries:
        assert delivery.status == DeliveryStatus.QUEUED
        assert delivery.payload == {"case": {"id": 7, "state": "new"}}
        assert (delivery.event_created_at, delivery.next_attempt_at) == (NOON, NOON)
        assert delivery.attempts == 0
    # Each delivery has its own idempotency key, kept for all its attempts.
    assert len({d.idempotency_key for d in deliveries}) == 2


def test_the_same_event_emitted_again_queues_nothing_new(world):
    register(world, URL, "case.opened")
    emit(world, payload={"case": {"id": 7}})
    first = WebhookDelivery.objects.get()

    assert emit(world, payload={"case": {"id": 7, "retried": True}}) == 1

    assert list(WebhookDelivery.objects.all()) == [first]
    assert WebhookDelivery.objects.get().payload == {"case": {"id": 7}}
    emit(world, event_id="evt_2")
    assert WebhookDelivery.objects.count() == 2


def test_an_endpoint_subscribing_later_gets_a_repeated_event_but_the_first_one_nothing_twice(
    world,
):
    crm = register(world, URL, "case.opened").endpoint
    emit(world)
    later = register(world, "https://later.example/in", "case.opened").endpoint

    emit(world)

    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [
        crm.pk,
        later.pk,
    ]


def test_an_event_of_a_transaction_that_rolls_back_is_never_queued(world):
    register(world, URL, "case.opened")

    def open_case_then_fail() -> None:
        with transaction.atomic():
            emit(world)
            raise RuntimeError("the case could not be opened")

    with pytest.raises(RuntimeError):
        open_case_then_fail()

    assert WebhookDelivery.objects.count() == 0


def test_the_worker_is_woken_only_when_the_transaction_commits(
    world, django_capture_on_commit_callbacks
):
    register(world, URL, "case.opened")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        emit(world)
        assert DBTaskResult.objects.count() == 0

    assert len(callbacks) == 1
    job = DBTaskResult.objects.get()
    assert job.task_path == "sonda.webhooks.tasks.deliver_due_webhooks"


def test_an_organisation_without_subscribed_endpoints_queues_nothing_and_wakes_nobody(
    world, django_capture_on_commit_callbacks
):
    register(world, URL, "case.closed")
    with django_capture_on_commit_callbacks() as callbacks:
        assert emit(world) == 0
    assert callbacks == []
    assert WebhookDelivery.objects.count() == 0


def test_deactivating_an_endpoint_stops_new_events_reaching_it(world):
    crm = register(world, URL, "case.opened").endpoint
    webhook_endpoint_update(scope=world.scope(world.admin), endpoint_id=crm.pk, active=False)
    assert emit(world) == 0
    assert WebhookDelivery.objects.count() == 0


def test_dates_and_decimals_in_the_payload_are_written_as_json(world):
    register(world, URL, "case.opened")
    emit(world, payload={"due": NOON + timedelta(hours=4), "score": Decimal("3.5")})
    assert WebhookDelivery.objects.get().payload == {
        "due": "2026-11-24T14:00:00Z",
        "score": "3.5",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_type": "case.deleted"}, "event_type"),
        ({"event_type": "webhook.test"}, "event_type"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 101}, "event_id"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"payload": {"customer": object()}}, "payload"),
        ({"payload": {"text": "x" * 300_000}}, "payload"),
    ],
)
def test_a_malformed_event_is_refused_naming_what_is_wrong_and_queues_nothing(
    world, changes, field
):
    register(world, URL, "case.opened")
    with pytest.raises(ValidationFailed) as refused:
        emit(world, **changes)
    assert [error.field for error in refused.value.errors] == [field]
    assert WebhookDelivery.objects.count() == 0
