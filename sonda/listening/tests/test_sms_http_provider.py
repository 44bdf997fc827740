"""The HTTP SMS provider against a real HTTP server on loopback: success, 5xx then success, a
timeout, a 4xx, a provider failing every other request, and a worker's crash. The server counts
what it accepted per idempotency key: every message must end sent exactly once."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sonda.listening.delivery import messages_claim, messages_deliver_due
from sonda.listening.models import InvitationStatus, MessageStatus
from sonda.listening.sms import HttpSmsProvider, PermanentSmsError, TransientSmsError
from sonda.listening.tests.delivery_helpers import NOON, about, fresh, invite, published_survey

TOKEN = "provider-token"


@dataclass
class Provider:
    """What the loopback provider does and saw. `script` answers requests in order (then 200);
    "fail_every_other" answers 503 to every second request."""

    script: list[str] = field(default_factory=list)
    fail_every_other: bool = False
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)  # 2xx answers per key
    phones: dict[str, str] = field(default_factory=dict)  # key → provider id: what reached phones
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append({"headers": dict(headers), "body": body})
            number = len(self.requests)
            step = self.script.pop(0) if self.script else "ok"
            key = headers.get("Idempotency-Key", "")
            if headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {"error": "unauthorised"}
            if step == "503" or (self.fail_every_other and number % 2 == 1):
                return 503, {"error": "try later"}
            if step == "400":
                return 400, {"error": "invalid number"}
            # Deduplicated on the key: a repeated request answers the first result, sends nothing.
            provider_id = self.phones.setdefault(key, f"prov-{len(self.phones) + 1}")
            self.accepted[key] += 1
            return 200, {"id": provider_id}


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            status, answer = state.answer(self.headers, body)
            if state.delay:
                time.sleep(state.delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_sms(settings: Any, provider: Provider) -> Provider:
    settings.SONDA_SMS_PROVIDER = "http"
    settings.SONDA_SMS_URL = provider.url
    settings.SONDA_SMS_TOKEN = TOKEN
    settings.SONDA_SMS_SENDER = "BancaDemo"
    settings.SONDA_SMS_TIMEOUT = 0.5
    return provider


def client(provider: Provider, **options: Any) -> HttpSmsProvider:
    return HttpSmsProvider(url=provider.url, token=TOKEN, sender="BancaDemo", **options)


def test_a_send_posts_json_with_the_bearer_token_and_the_idempotency_key(provider):
    result = client(provider).send(to="+40722000111", text="Hello", idempotency_key="k-1")

    assert result.provider_id == "prov-1"
    [request] = provider.requests
    assert request["body"] == {"to": "+40722000111", "text": "Hello", "sender": "BancaDemo"}
    assert request["headers"]["Idempotency-Key"] == "k-1"
    assert request["headers"]["Content-Type"] == "application/json"


def test_a_5xx_is_transient_and_the_next_try_succeeds(provider):
    provider.script = ["503"]
    sms = client(provider)

    with pytest.raises(TransientSmsError, match="503"):
        sms.send(to="+40722000111", text="Hello", idempotency_key="k-1")
    assert sms.send(to="+40722000111", text="Hello", idempotency_key="k-1").provider_id


def test_a_provider_that_does_not_answer_in_time_is_transient(provider):
    provider.delay = 1.0

    with pytest.raises(TransientSmsError, match="in time"):
        client(provider, timeout=0.2).send(to="+40722000111", text="Hi", idempotency_key="k-1")


def test_a_4xx_is_permanent(provider):
    provider.script = ["400"]

    with pytest.raises(PermanentSmsError, match="400"):
        client(provider).send(to="+40700", text="Hello", idempotency_key="k-1")


def test_a_provider_that_cannot_be_reached_is_tried_a_few_times_then_transient():
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        sms = HttpSmsProvider(
            url=f"http://127.0.0.1:{port}/sms", token=TOKEN, sender="S", backoff=0.01
        )
        started = time.monotonic()
        with pytest.raises(TransientSmsError, match="cannot reach"):
            sms.send(to="+40722000111", text="Hello", idempotency_key="k-1")
    assert time.monotonic() - started < 2


def test_delivery_retries_a_5xx_later_and_records_the_providers_id(world, http_sms):
    http_sms.script = ["503"]
    message = invite(world, channel="sms", language="ro")

    assert messages_deliver_due(now=NOON) == 0
    message = fresh(message)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert about(message.next_attempt_at, NOON + timedelta(minutes=1))

    assert messages_deliver_due(now=message.next_attempt_at) == 1
    message = fresh(message)
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "prov-1")
    assert message.invitation.status == InvitationStatus.SENT
    [first, second] = http_sms.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert message.invitation.token in second["body"]["text"]


def test_an_invalid_number_fails_the_message_and_the_invitation_at_once(world, http_sms):
    http_sms.script = ["400"]
    message = invite(world, channel="sms")

    messages_deliver_due(now=NOON)

    message = fresh(message)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert "400" in message.last_error
    assert message.invitation.status == InvitationStatus.FAILED


def test_a_timeout_after_the_provider_accepted_sends_nothing_twice(world, http_sms):
    http_sms.delay = 1.0  # accepted, but the answer comes after our timeout
    message = invite(world, channel="sms")

    assert messages_deliver_due(now=NOON) == 0
    http_sms.delay = 0
    assert messages_deliver_due(now=NOON + timedelta(minutes=2)) == 1

    assert fresh(message).status == MessageStatus.SENT
    assert len(http_sms.requests) == 2
    assert list(http_sms.phones) == [message.idempotency_key]  # one SMS reached the phone


def test_with_a_provider_failing_every_other_request_every_message_is_sent_exactly_once(
    world, http_sms
):
    http_sms.fail_every_other = True
    survey = published_survey(world)
    messages = [invite(world, survey=survey, channel="sms") for _ in range(6)]
    now = NOON
    for _run in range(6):
        messages_deliver_due(now=now)
        now += timedelta(minutes=30)

    assert {fresh(m).status for m in messages} == {MessageStatus.SENT}
    keys = {m.idempotency_key for m in messages}
    assert set(http_sms.accepted) == keys
    assert set(http_sms.accepted.values()) == {1}
    assert len(http_sms.requests) > len(messages)


def test_a_worker_crash_after_claiming_loses_and_duplicates_nothing(world, http_sms):
    survey = published_survey(world)
    messages = [invite(world, survey=survey, channel="sms") for _ in range(3)]
    assert len(messages_claim(now=NOON)) == 3  # the worker dies before sending

    assert messages_deliver_due(now=NOON + timedelta(minutes=1)) == 0
    assert messages_deliver_due(now=NOON + timedelta(minutes=6)) == 3
    assert messages_deliver_due(now=NOON + timedelta(minutes=20)) == 0

    assert http_sms.accepted == Counter({m.idempotency_key: 1 for m in messages})
