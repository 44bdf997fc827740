"""Two workers running the loop's sweeps at the same moment, on two PostgreSQL connections: each
response opens one case, each entry notifies once, and no executive passes their quota."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from sonda.loop.models import (
    Case,
    CaseEvent,
    ExecutiveCallback,
    LoopSettings,
    Notification,
    ResponseEvaluation,
)
from sonda.loop.sweeps import executive_callbacks_allot, loop_sweep
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.webhooks.models import WebhookDelivery
from sonda.webhooks.services import webhook_endpoint_create

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


def test_two_sweeps_at_once_open_each_case_once_and_notify_once(world):
    bank = make_bank(world)
    bank.rule()
    webhook_endpoint_create(
        scope=world.scope(world.admin), url="https://crm.example/in", event_types=["case.opened"]
    )
    responses = [bank.respond({"ltr": n % 7}, employee_id=bank.bogdan.pk) for n in range(8)]

    results = at_once([lambda: loop_sweep(now=OPENED), lambda: loop_sweep(now=OPENED)])

    assert all(not r.failed for r in results)
    assert sum(r.evaluated for r in results) >= len(responses)
    assert sorted(Case.objects.values_list("response_id", flat=True)) == [r.pk for r in responses]
    assert ResponseEvaluation.objects.count() == len(responses)
    assert CaseEvent.objects.filter(kind="opened").count() == len(responses)
    assert Notification.objects.filter(kind="case_assigned").count() == len(responses)
    assert WebhookDelivery.objects.filter(event_type="case.opened").count() == len(responses)


def test_two_allotments_at_once_keep_each_executive_within_their_quota(world):
    bank = make_bank(world)
    LoopSettings.objects.create(organisation=world.org, executive_callbacks_per_month=3)
    for _ in range(8):
        bank.case({"ltr": 1}, unit_id=world.north_branch.pk)

    later = OPENED + timedelta(hours=1)
    at_once(
        [
            lambda: executive_callbacks_allot(organisation=world.org, now=later),
            lambda: executive_callbacks_allot(organisation=world.org, now=later),
        ]
    )

    assert ExecutiveCallback.objects.filter(executive=world.executive).count() == 3
    assert CaseEvent.objects.filter(kind="callback").count() == 3
