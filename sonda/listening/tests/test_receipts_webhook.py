"""The SMS provider's delivery receipts: signed with the webhook secret, fresh, and harmless when
sent twice."""

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from sonda.api.testing import PROBLEM
from sonda.listening.models import InvitationStatus, MessageKind, MessageStatus
from sonda.listening.tests.delivery_helpers import NOON, fresh, invite

SECRET = "receipts-secret"
URL = "/hooks/sms/receipts"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SONDA_SMS_WEBHOOK_SECRET = SECRET


def sent_sms(world: Any, provider_id: str = "prov-1", **fields: Any) -> Any:
    message = invite(
        world,
        channel="sms",
        status=InvitationStatus.SENT,
        sent_at=NOON,
        message_status=MessageStatus.SENT,
        **fields,
    )
    message.provider_message_id = provider_id
    message.save()
    return message


def post(
    body: bytes | dict[str, Any],
    *,
    secret: str = SECRET,
    stamp: float | None = None,
    signature: str | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    at = str(int(time.time() if stamp is None else stamp))
    digest = hmac.new(secret.encode(), at.encode() + b"." + raw, hashlib.sha256).hexdigest()
    # A provider posts server to server: no cookies, no CSRF token.
    return Client(enforce_csrf_checks=True).post(
        URL,
        raw,
        content_type="application/json",
        headers={
            "X-Sonda-Signature": signature or f"sha256={digest}",
            "X-Sonda-Timestamp": at,
        },
    )


def test_a_delivered_receipt_marks_the_message_and_the_invitation_delivered(world):
    message = sent_sms(world)

    answer = post({"provider_message_id": "prov-1", "status": "delivered"})

    assert answer.status_code == 200
    assert answer.json() == {"provider_message_id": "prov-1", "status": "delivered"}
    message = fresh(message)
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None
    assert message.invitation.status == InvitationStatus.DELIVERED
    assert message.invitation.delivered_at is not None


def test_the_same_receipt_twice_changes_nothing(world):
    message = sent_sms(world)
    post({"provider_message_id": "prov-1", "status": "delivered"})
    first = fresh(message).delivered_at

    again = post({"provider_message_id": "prov-1", "status": "delivered"})
    late_failure = post({"provider_message_id": "prov-1", "status": "failed", "error": "x"})

    assert (again.status_code, late_failure.status_code) == (200, 200)
    message = fresh(message)
    assert (message.status, message.delivered_at) == (MessageStatus.DELIVERED, first)
    assert message.invitation.status == InvitationStatus.DELIVERED


def test_a_failed_receipt_fails_the_message_and_the_invitation_with_the_providers_reason(world):
    message = sent_sms(world)

    post({"provider_message_id": "prov-1", "status": "failed", "error": "number not in service"})

    message = fresh(message)
    assert (message.status, message.last_error) == (MessageStatus.FAILED, "number not in service")
    assert message.invitation.status == InvitationStatus.FAILED


def test_a_receipt_never_moves_an_invitation_back(world):
    message = sent_sms(world)
    invitation = message.invitation
    invitation.status = InvitationStatus.OPENED
    invitation.save()

    post({"provider_message_id": "prov-1", "status": "delivered"})

    assert fresh(message).invitation.status == InvitationStatus.OPENED


def test_a_reminders_receipt_leaves_the_invitation_alone(world):
    message = sent_sms(world, provider_id="prov-0")
    reminder = message.invitation.messages.create(
        organisation=world.org,
        kind=MessageKind.REMINDER,
        channel="sms",
        to_address=message.to_address,
        status=MessageStatus.SENT,
        idempotency_key="reminder-key",
        next_attempt_at=NOON + timedelta(days=3),
        provider_message_id="prov-r",
    )

    post({"provider_message_id": "prov-r", "status": "failed"})

    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.FAILED
    assert fresh(message).invitation.status == InvitationStatus.SENT


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "someone-elses-secret"},
        {"signature": "sha256=" + "0" * 64},
        {"signature": "md5=abc"},
    ],
    ids=["wrong_secret", "wrong_digest", "wrong_scheme"],
)
def test_a_receipt_with_a_bad_signature_is_refused_with_a_problem(world, tamper):
    message = sent_sms(world)

    answer = post({"provider_message_id": "prov-1", "status": "delivered"}, **tamper)

    assert answer.status_code == 401
    assert answer["Content-Type"] == PROBLEM
    assert answer.json()["status"] == 401
    assert fresh(message).status == MessageStatus.SENT


def test_a_body_changed_after_signing_is_refused(world):
    sent_sms(world)
    body = json.dumps({"provider_message_id": "prov-1", "status": "delivered"}).encode()
    signed = str(int(time.time())).encode() + b"." + body
    digest = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()

    answer = post(
        {"provider_message_id": "prov-1", "status": "failed"}, signature=f"sha256={digest}"
    )

    assert answer.status_code == 401


def test_a_captured_receipt_replayed_under_a_new_timestamp_is_refused(world):
    message = sent_sms(world)
    body = json.dumps({"provider_message_id": "prov-1", "status": "failed"}).encode()
    then = int(time.time()) - 3600
    digest = hmac.new(SECRET.encode(), f"{then}.".encode() + body, hashlib.sha256).hexdigest()

    answer = post(body, signature=f"sha256={digest}")

    assert answer.status_code == 401
    assert fresh(message).status == MessageStatus.SENT


@pytest.mark.parametrize("age", [-301, 301, 3600])
def test_a_stale_receipt_is_refused(world, age):
    message = sent_sms(world)

    answer = post({"provider_message_id": "prov-1", "status": "delivered"}, stamp=time.time() - age)

    assert answer.status_code == 401
    assert "five minutes" in answer.json()["detail"]
    assert fresh(message).status == MessageStatus.SENT


def test_a_receipt_for_an_unknown_message_answers_404(world):
    sent_sms(world)

    answer = post({"provider_message_id": "nobody-knows", "status": "delivered"})

    assert answer.status_code == 404
    assert answer["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        ({"status": "delivered"}, "provider_message_id"),
        ({"provider_message_id": "prov-1", "status": "read"}, "status"),
    ],
    ids=["not_json", "not_an_object", "no_id", "unknown_status"],
)
def test_a_receipt_that_cannot_be_read_answers_400_naming_the_field(world, body, field):
    sent_sms(world)

    answer = post(body)

    assert answer.status_code == 400
    assert answer["Content-Type"] == PROBLEM
    assert [error["field"] for error in answer.json()["errors"]] == [field]


def test_without_a_configured_secret_no_receipt_is_accepted(world, settings):
    settings.SONDA_SMS_WEBHOOK_SECRET = ""
    message = sent_sms(world)

    answer = post({"provider_message_id": "prov-1", "status": "delivered"}, secret="")

    assert answer.status_code == 503
    assert fresh(message).status == MessageStatus.SENT


def test_only_post_is_answered(client):
    assert client.get(URL).status_code == 405
