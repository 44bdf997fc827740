"""Signatures: what Sonda sends to a real receiver on loopback verifies with the documented
helper (the code in docs/webhooks.md, run as written, and Sonda's own copy), and fails when the
body, the timestamp, the secret or the header is not what was signed."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from sonda.webhooks import signing
from sonda.webhooks.delivery import webhooks_deliver_due
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery
from sonda.webhooks.services import webhook_emit
from sonda.webhooks.tests.conftest import Receiver, register

DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def documented_helper() -> Any:
    """`verify_signature` as docs/webhooks.md shows it to receivers, defined by running the
    page's first Python block."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(blocks[0], namespace)  # noqa: S102 - our own documentation
    return namespace["verify_signature"]


HELPERS = {"docs/webhooks.md": documented_helper(), "sonda": signing.verify_signature}


@pytest.fixture
def sent(world, receiver: Receiver) -> tuple[str, dict[str, str], bytes]:
    """One real delivery, sent now: the endpoint's secret, and the headers and raw body that
    reached the receiver."""
    issued = register(world, receiver.url, "case.opened")
    webhook_emit(
        organisation_id=world.org.pk,
        event_type="case.opened",
        event_id="case-7:opened",
        payload={"case": {"id": 7, "customer": "Ioana Pop", "score": 3, "note": "ză ł €"}},
    )
    assert webhooks_deliver_due() == 1
    [request] = receiver.requests
    return issued.secret, request.headers, request.body


@pytest.mark.parametrize("helper", list(HELPERS))
def test_a_delivery_verifies_with_the_documented_helper(sent, helper):
    secret, headers, body = sent
    assert HELPERS[helper](secret, headers["Sonda-Signature"], body) is True


def test_the_request_carries_the_event_and_the_delivery_in_headers_and_body(world, sent):
    _secret, headers, body = sent
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert headers["Content-Type"] == "application/json"
    assert headers["Sonda-Event"] == "case.opened"
    assert headers["Sonda-Delivery"] == str(delivery.pk)
    assert headers["Idempotency-Key"] == delivery.idempotency_key
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["Sonda-Signature"])
    assert json.loads(body) == {
        "id": "case-7:opened",
        "type": "case.opened",
        "created": DjangoJSONEncoder().default(delivery.event_created_at),
        "organisation": {"id": world.org.pk, "slug": "banca"},
        "data": {"case": {"id": 7, "customer": "Ioana Pop", "score": 3, "note": "ză ł €"}},
    }


@pytest.mark.parametrize("helper", list(HELPERS))
def test_a_tampered_body_fails(sent, helper):
    secret, headers, body = sent
    tampered = body.replace(b'"score":3', b'"score":9')
    assert tampered != body
    assert HELPERS[helper](secret, headers["Sonda-Signature"], tampered) is False
    # Even a change the JSON parser would not notice: the raw bytes are what is signed.
    assert HELPERS[helper](secret, headers["Sonda-Signature"], body + b" ") is False


@pytest.mark.parametrize("helper", list(HELPERS))
def test_an_old_or_future_timestamp_fails(sent, helper):
    secret, headers, body = sent
    header = headers["Sonda-Signature"]
    stamp = int(header.split(",")[0].removeprefix("t="))
    verify = HELPERS[helper]

    assert verify(secret, header, body, now=stamp + 300) is True
    assert verify(secret, header, body, now=stamp + 301) is False
    assert verify(secret, header, body, now=stamp - 301) is False
    assert verify(secret, header, body, tolerance=30, now=stamp + 31) is False


@pytest.mark.parametrize("helper", list(HELPERS))
def test_a_replay_under_a_fresh_timestamp_fails(sent, helper):
    secret, headers, body = sent
    signature = headers["Sonda-Signature"].split(",")[1]
    fresh = int(timezone.now().timestamp()) + 60
    assert HELPERS[helper](secret, f"t={fresh},{signature}", body, now=fresh) is False


@pytest.mark.parametrize("helper", list(HELPERS))
@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=,v1=abc", "t=abc,v1=abc", "t=1795860000", "nonsense"],
)
def test_a_malformed_header_fails(sent, helper, header):
    secret, _headers, body = sent
    assert HELPERS[helper](secret, header, body) is False


@pytest.mark.parametrize("helper", list(HELPERS))
def test_another_secret_fails_and_any_matching_v1_passes(sent, helper):
    secret, headers, body = sent
    header = headers["Sonda-Signature"]
    verify = HELPERS[helper]
    assert verify(signing.secret_generate(), header, body) is False
    stamp = header.split(",")[0]
    assert verify(secret, f"{stamp},v1={'0' * 64},{header.split(',')[1]}", body) is True


def test_each_endpoint_gets_its_own_secret_of_32_random_bytes(world):
    first = register(world, "https://a.example/in").secret
    second = register(world, "https://b.example/in").secret
    assert first != second
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(secret.removeprefix("whsec_")) == 43  # 32 bytes, URL-safe base64
