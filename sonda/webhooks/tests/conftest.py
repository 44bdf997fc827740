"""A real HTTP receiver on loopback for webhook tests, and endpoints registered to it.

The receiver answers as scripted (a status per request, then 200), records every request as it
arrived (headers and the raw body), and counts the 2xx answers it gave per `Idempotency-Key`:
what a receiver that deduplicates would have processed.

An HTTPS receiver (`start_receiver(tls=True)`) is `https://hooks.example.test:<port>`: it shows
the certificate in tls/receiver.pem, issued for hooks.example.test by the test authority in
tls/ca.pem (tls/README.md says how they were made), which `trust_test_authority` makes the only
one Sonda trusts; it records the server name (SNI) each TLS client asked for. `names` answers for
host names outside the machine, which a hermetic test cannot ask real DNS about.
"""

import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sonda.webhooks import addresses
from sonda.webhooks.models import WebhookEndpoint
from sonda.webhooks.services import IssuedEndpoint, webhook_endpoint_create

NOON = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TLS = Path(__file__).parent / "tls"
TLS_NAME = "hooks.example.test"


def about(moment: datetime | None, expected: datetime) -> bool:
    """Whether a recorded time is the expected one: a run adds the seconds it has spent."""
    return moment is not None and timedelta(0) <= moment - expected < timedelta(seconds=5)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the loopback receiver does and saw."""

    script: list[int] = field(default_factory=list)
    fail_every_other: bool = False
    delay: float = 0.0
    # When set, the first request waits (up to 10 s) for it before answering.
    hold_first: threading.Event | None = None
    first_arrived: threading.Event = field(default_factory=threading.Event)
    requests: list[Received] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The server names (SNI) TLS clients asked for, handshakes that failed included.
    server_names: list[str | None] = field(default_factory=list)
    port: int = 0
    url: str = ""

    def answer(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            number = len(self.requests)
            status = self.script.pop(0) if self.script else 200
            if self.fail_every_other and number % 2 == 1:
                status = 500
            if 200 <= status < 300:
                self.accepted[received.headers.get("Idempotency-Key", "")] += 1
            return status


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(*, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> Receiver:
        state = Receiver()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received = Received(self.path, dict(self.headers), self.rfile.read(length))
                first = not state.first_arrived.is_set()
                state.first_arrived.set()
                if first and state.hold_first is not None:
                    state.hold_first.wait(10)
                status = state.answer(received)
                if state.delay:
                    time.sleep(state.delay)
                data = b'{"ok": true}' if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # Sonda gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        servers.append(server)
        state.port = server.server_address[1]
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS / "receiver.pem")
            context.sni_callback = lambda _sock, name, _context: state.server_names.append(name)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            state.url = f"https://{TLS_NAME}:{state.port}/hooks/sonda"
        else:
            state.url = f"http://{host}:{state.port}/hooks/sonda"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return state

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def receiver(start_receiver: Callable[..., Receiver]) -> Receiver:
    return start_receiver()


def register(world: Any, url: str, *types: str, **options: Any) -> IssuedEndpoint:
    """An endpoint of the world's bank, registered by its admin, for these event types."""
    return webhook_endpoint_create(
        scope=world.scope(world.admin),
        url=url,
        event_types=list(types or ["case.opened"]),
        **options,
    )


@pytest.fixture
def endpoint(world: Any, receiver: Receiver) -> WebhookEndpoint:
    return register(world, receiver.url, "case.opened", "case.closed").endpoint


@pytest.fixture
def trust_test_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sonda trusts the test authority (tls/ca.pem) alone, as if it were a public one."""
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "ca.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@dataclass
class Names:
    """A resolver for host names outside the machine: what each resolves to, and every lookup."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Names:
    resolver = Names()
    monkeypatch.setattr(addresses, "resolve", resolver.resolve)
    return resolver
