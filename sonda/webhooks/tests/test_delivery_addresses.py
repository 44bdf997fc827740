"""Where a delivery may go is decided before each send: the endpoint's host name is resolved and
every address it resolves to is checked by the rules for an address written as an IP (loopback in
development only; link-local, unspecified and multicast never; private networks allowed). One
refused address fails the delivery at once and nothing is sent; a name that does not resolve is
tried again later. The connection goes to the address that was checked, never to a later DNS
answer, while the Host header, the TLS server name and the certificate check keep the host name.

Receivers are real servers on loopback. `names` answers for host names outside the machine;
`localhost` is looked up for real. Saving an endpoint reads its address as written and resolves
nothing.
"""

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from sonda.core.errors import ValidationFailed
from sonda.webhooks.addresses import send_addresses
from sonda.webhooks.delivery import webhooks_deliver_due
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sonda.webhooks.tests.conftest import NOON, TLS_NAME, Receiver, about, register
from sonda.webhooks.tests.test_webhooks_api import emit

MINUTE = timedelta(minutes=1)
REFUSED = "this address cannot receive webhooks (link-local, unspecified or multicast)"
LOOPBACK_REFUSED = "a loopback address can only be used in development"


def fresh() -> WebhookDelivery:
    return WebhookDelivery.objects.get()


@pytest.fixture
def tls_receiver(start_receiver, trust_test_authority) -> Receiver:
    """An HTTPS receiver at https://hooks.example.test:<port> on 127.0.0.1."""
    return start_receiver(tls=True)


def test_a_name_is_resolved_before_the_send_and_the_request_keeps_the_name(
    world, tls_receiver, names
):
    names.answers[TLS_NAME] = ["127.0.0.1"]
    register(world, tls_receiver.url)
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 1

    delivery = fresh()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "delivered",
        200,
        "",
    )
    assert names.lookups == [TLS_NAME]
    [request] = tls_receiver.requests
    assert request.path == "/hooks/sonda"
    assert request.headers["Host"] == f"{TLS_NAME}:{tls_receiver.port}"
    # TLS asked for the name, and the certificate (issued for the name) was accepted for it.
    assert tls_receiver.server_names == [TLS_NAME]


def test_a_name_resolving_to_loopback_is_refused_once_sonda_leaves_development(
    world, tls_receiver, names
):
    names.answers[TLS_NAME] = ["127.0.0.1"]
    register(world, tls_receiver.url)
    emit(world)

    with override_settings(DEBUG=False, TESTING=False):
        assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, None)
    assert about(delivery.failed_at, NOON)
    assert delivery.last_error == (
        f"the endpoint's address: {TLS_NAME} resolved to 127.0.0.1: {LOOPBACK_REFUSED}"
    )
    assert webhooks_deliver_due(now=NOON + timedelta(days=1)) == 0
    assert names.lookups == [TLS_NAME]
    # Not even a connection: the receiver that name points at saw no TLS handshake.
    assert (tls_receiver.requests, tls_receiver.server_names) == ([], [])


@pytest.mark.parametrize(
    "answers",
    [
        ["169.254.169.254"],  # a cloud's metadata service
        # The receiver's own address first: one refused answer among good ones is enough.
        ["127.0.0.1", "169.254.169.254"],
        ["127.0.0.1", "fe80::1"],
        ["127.0.0.1", "0.0.0.0"],  # noqa: S104 - the address refused, not one listened on
        ["127.0.0.1", "::"],
        ["127.0.0.1", "224.0.0.1"],
        ["127.0.0.1", "ff02::1"],
        ["127.0.0.1", "::ffff:169.254.169.254"],  # the metadata service written as IPv6
    ],
)
def test_a_name_resolving_to_a_link_local_unspecified_or_multicast_address_is_refused(
    world, tls_receiver, names, answers
):
    names.answers[TLS_NAME] = answers
    register(world, tls_receiver.url)
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, None)
    assert delivery.last_error == (
        f"the endpoint's address: {TLS_NAME} resolved to {answers[-1]}: {REFUSED}"
    )
    assert webhooks_deliver_due(now=NOON + timedelta(days=1)) == 0
    assert (tls_receiver.requests, tls_receiver.server_names) == ([], [])


def test_a_name_that_does_not_resolve_is_tried_again_later(world, tls_receiver, names):
    register(world, tls_receiver.url)
    emit(world, "evt_1")
    emit(world, "evt_2")

    assert webhooks_deliver_due(now=NOON) == 0

    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.status, first.attempts, first.last_status_code) == ("queued", 1, None)
    assert about(first.next_attempt_at, NOON + MINUTE)
    assert first.last_error == (
        f"cannot reach it: {TLS_NAME} does not resolve: [Errno -2] Name or service not known"
    )
    # The endpoint's other delivery waits without an attempt, and without asking DNS again.
    assert (second.status, second.attempts) == ("queued", 0)
    assert second.last_error == first.last_error
    assert names.lookups == [TLS_NAME]
    assert tls_receiver.requests == []

    names.answers[TLS_NAME] = ["127.0.0.1"]  # the receiver's DNS answers again
    assert webhooks_deliver_due(now=max(first.next_attempt_at, second.next_attempt_at)) == 2

    first, second = WebhookDelivery.objects.order_by("pk")
    assert [(d.status, d.attempts) for d in (first, second)] == [("delivered", 2), ("delivered", 1)]
    assert len(tls_receiver.requests) == 2


def test_a_dns_answer_that_changes_after_the_check_does_not_move_the_connection(
    world, start_receiver, trust_test_authority, monkeypatch
):
    """DNS rebinding: the name first resolves to the receiver, which passes the check, and from
    then on to another server on the same port (standing for what a rebinding DNS would answer
    once the check has passed, such as the metadata service). The system's resolver itself is
    replaced, so any second lookup, by Sonda or by the HTTP client, would get the other server."""
    receiver = start_receiver(tls=True)
    other = start_receiver(host="127.0.0.2", port=receiver.port, tls=True)
    system_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != TLS_NAME:
            return system_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        answer = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return system_getaddrinfo(answer, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    register(world, receiver.url)
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 1

    assert fresh().status == DeliveryStatus.DELIVERED
    assert lookups == [TLS_NAME]
    [request] = receiver.requests
    assert request.headers["Host"] == f"{TLS_NAME}:{receiver.port}"
    assert receiver.server_names == [TLS_NAME]
    assert (other.requests, other.server_names) == ([], [])


def test_the_certificate_must_be_issued_for_the_endpoints_host_name(world, tls_receiver, names):
    """The connection goes to an address, but TLS still checks the name: a receiver whose
    certificate is for another name is not trusted (and tried again, as a broken connection)."""
    names.answers["crm.example.test"] = ["127.0.0.1"]
    register(world, f"https://crm.example.test:{tls_receiver.port}/hooks/sonda")
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert delivery.last_error.startswith(
        "cannot reach it: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "Hostname mismatch, certificate is not valid for 'crm.example.test'."
    )
    assert tls_receiver.server_names == ["crm.example.test"]
    assert tls_receiver.requests == []


def test_localhost_receives_deliveries_under_test(world, receiver):
    register(world, f"http://localhost:{receiver.port}/hooks/sonda")
    emit(world)

    assert webhooks_deliver_due(now=NOON) == 1

    assert fresh().status == DeliveryStatus.DELIVERED
    [request] = receiver.requests
    assert request.headers["Host"] == f"localhost:{receiver.port}"


def test_localhost_is_refused_once_sonda_leaves_development(world, receiver):
    register(world, f"http://localhost:{receiver.port}/hooks/sonda")
    emit(world)

    with override_settings(DEBUG=False, TESTING=False):
        assert webhooks_deliver_due(now=NOON) == 0

    delivery = fresh()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == f"the endpoint's address: {LOOPBACK_REFUSED}"
    assert receiver.requests == []


def test_private_addresses_may_receive_webhooks(names):
    names.answers["crm.bank.example.test"] = ["10.20.0.5", "192.168.1.9", "fd00::7"]

    with override_settings(DEBUG=False, TESTING=False):
        addresses = send_addresses("https://crm.bank.example.test/hooks")

    assert addresses == ("10.20.0.5", "192.168.1.9", "fd00::7")


def test_saving_an_endpoint_does_not_resolve_its_name(world, names):
    """The receiver's DNS may answer only inside its own network, or not yet."""
    issued = register(world, "https://crm.bank.example.test/hooks")

    assert issued.endpoint.url == "https://crm.bank.example.test/hooks"
    assert names.lookups == []


def test_an_ipv4_address_written_as_ipv6_is_checked_as_the_ipv4_address(world):
    with pytest.raises(ValidationFailed) as refused:
        register(world, "https://[::ffff:169.254.169.254]/latest/meta-data")

    assert [(e.field, e.message) for e in refused.value.errors] == [("url", REFUSED)]
    with override_settings(DEBUG=False, TESTING=False), pytest.raises(ValidationFailed) as refused:
        register(world, "https://[::ffff:127.0.0.1]/in")

    assert [(e.field, e.message) for e in refused.value.errors] == [("url", LOOPBACK_REFUSED)]
    assert not WebhookEndpoint.objects.exists()
