"""Replaying a batch is harmless: the same 10,000 events posted again (or by two clients at once)
leave exactly the events, invitations and messages that posting them once left."""

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from sonda.api.testing import Api
from sonda.customers.models import Customer, CustomerIdentity
from sonda.listening.models import Event, Invitation, InvitationDecision, Message
from sonda.listening.tests.listening_factories import TriggerRuleFactory
from sonda.surveys.tests.factories import make_published_survey

SIZE = 10_000
OCCURRED = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)


def batch() -> list[dict[str, Any]]:
    """Calls and visits of 2,500 customers; some events carry no key and dedupe by content."""
    events = []
    for n in range(SIZE):
        event: dict[str, Any] = {
            "type": "call_completed" if n % 2 else "branch_visit",
            "occurred_at": (OCCURRED + timedelta(seconds=n)).isoformat(),
            "customer": {"email": f"client{n % 2500}@mail.example"},
            "unit_code": "N1" if n % 3 else "S1",
            "touchpoint": "call_centre" if n % 2 else "cash_desk",
            "journey": "mortgage_application",
            "attributes": {"product": "mortgage" if n % 5 else "card", "wait_minutes": n % 17},
        }
        if n % 10:
            event["idempotency_key"] = f"interaction-{n}"
        events.append(event)
    return events


def rules(world) -> None:
    """Calls invited by email, visits by link (the caller hands the link to the customer)."""
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(
        survey=survey, event_types=["call_completed"], delivery_order=["email"], priority=1
    )
    TriggerRuleFactory(
        survey=survey, event_types=["branch_visit"], delivery_order=["link"], priority=2
    )


def post(secret: str, body: str) -> dict[str, Any]:
    response = Client().generic(
        "POST",
        "/api/v1/events",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content[:500]
    result: dict[str, Any] = response.json()
    return result


def counts() -> dict[str, int]:
    return {
        "events": Event.objects.count(),
        "invitations": Invitation.objects.count(),
        "messages": Message.objects.count(),
        "decisions": InvitationDecision.objects.count(),
        "customers": Customer.objects.count(),
        "identities": CustomerIdentity.objects.count(),
    }


def test_the_same_batch_posted_three_times_leaves_what_posting_it_once_left(world):
    rules(world)
    secret = Api(world).secret("analyst")
    body = json.dumps(batch())
    assert len(body) > 2_621_440  # past Django's default upload limit: the endpoint reads it all

    first = post(secret, body)
    once = counts()
    replies = [post(secret, body) for _ in range(2)]

    assert (first["created"], first["duplicates"], first["invalid"]) == (SIZE, 0, 0)
    assert once["events"] == SIZE
    assert once["customers"] == 2500
    assert first["invitations"] == once["invitations"] == SIZE
    assert once["messages"] == SIZE // 2  # the calls; visits answer their links
    for reply in replies:
        assert (reply["created"], reply["duplicates"], reply["invitations"]) == (0, SIZE, 0)
        assert [item["event_id"] for item in reply["items"]] == [
            item["event_id"] for item in first["items"]
        ]
    assert counts() == once


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together, each on its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_posting_the_same_batch_at_once_leave_what_one_would(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    rules(world)
    api = Api(world)
    secrets = [api.secret("analyst"), api.secret("admin")]
    body = json.dumps(batch())

    answers = at_once([lambda: post(secrets[0], body), lambda: post(secrets[1], body)])

    assert sum(answer["created"] for answer in answers) == SIZE
    assert sum(answer["duplicates"] for answer in answers) == SIZE
    assert sum(answer["invitations"] for answer in answers) == SIZE
    for one, other in zip(answers[0]["items"], answers[1]["items"], strict=True):
        assert one["event_id"] == other["event_id"]
    assert counts() == {
        "events": SIZE,
        "invitations": SIZE,
        "messages": SIZE // 2,
        "decisions": SIZE,
        "customers": 2500,
        "identities": 2500,
    }
    replay = post(secrets[0], body)
    assert (replay["created"], replay["invitations"]) == (0, 0)
