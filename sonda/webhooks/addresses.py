"""Which addresses an endpoint may have, and which addresses a send may connect to.

HTTPS only: the body carries the organisation's data, and the signature proves who sent it, not
that nobody else read it. Plain HTTP is accepted for a loopback receiver (127.0.0.0/8, ::1,
`localhost`) while Sonda runs in development or under test (SONDA_DEBUG / SONDA_TESTING), and
only then. Addresses that point into the Sonda host itself or its cloud's metadata service
(loopback outside development, link-local such as 169.254.169.254, unspecified, multicast; an
IPv4 address written as IPv6, ::ffff:a.b.c.d, counts as the IPv4 address) are refused, so a
webhook cannot be used to read what only the server can reach. Private addresses (10/8,
172.16/12, 192.168/16, fc00::/7) are allowed: on-premise CRMs live there. Credentials in the
address are refused: receivers authenticate Sonda by the signature, and a password in a URL ends
up in logs.

`url_problem` reads the address as written; it runs when an endpoint is saved and again before
each send (a setting may have changed). A host name is not resolved on save: the receiver's DNS
may only answer inside its own network, or not yet. Before each send `send_addresses` resolves
the name (both families) and refuses the send when any address it resolves to is refused by the
rules above, so a name pointing at 127.0.0.1 or the metadata service is caught. The delivery
then connects to exactly the addresses checked here, never looking the name up again, so a DNS
answer that changes between the check and the connection (rebinding) cannot redirect it.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The host name resolved to an address Sonda must not connect to; sending again cannot help
    until the receiver's DNS or the endpoint's address changes."""


class NameUnresolved(Exception):
    """The host name did not resolve now; DNS may answer later."""


def _loopback_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "TESTING", False))


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches; others as they are.
    Python 3.11's ipaddress does not call ::ffff:127.0.0.1 loopback, but it reaches 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _address_problem(address: IPAddress) -> str | None:
    """Why Sonda must not connect to this address, or None when it may."""
    address = _unmapped(address)
    if address.is_loopback:
        if not _loopback_allowed():
            return _("a loopback address can only be used in development")
        return None
    if address.is_link_local or address.is_unspecified or address.is_multicast:
        return _("this address cannot receive webhooks (link-local, unspecified or multicast)")
    return None


def url_problem(url: str) -> str | None:
    """Why this address cannot receive webhooks, or None when it can.

    The address as written only: a host name is not resolved here (see the module docstring)."""
    if not url:
        return _("an address is required")
    if len(url) > MAX_URL_LENGTH:
        return _("at most %(n)d characters") % {"n": MAX_URL_LENGTH}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return _("not a valid http(s) address")
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.username is not None or parts.password is not None:
        return _("must not contain a user name or password; receivers check the signature")
    if parts.fragment:
        return _("must not contain a #fragment")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        if not _loopback_allowed():
            return _("a loopback address can only be used in development")
        return None
    address = _ip(host)
    if address is not None:
        problem = _address_problem(address)
        if problem or _unmapped(address).is_loopback:
            # A loopback address that may be used may also be plain http (development).
            return problem
    if parts.scheme != "https":
        return _("must use https")
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for a host name, IPv4 and IPv6, in its order."""
    found = socket.getaddrinfo(host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def send_addresses(url: str) -> tuple[str, ...]:
    """The addresses a send to `url` connects to: all its host resolves to, each one checked.

    Raises AddressRefused when any of them is refused (one bad answer among good ones is enough:
    a connection moves on to the next address when one does not answer), NameUnresolved when the
    name does not resolve. An address written as an IP is not looked up."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = _ip(host)
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = resolve(host, parts.port or DEFAULT_PORTS.get(parts.scheme, 443))
        except (OSError, UnicodeError) as error:
            raise NameUnresolved(f"{host} does not resolve: {error}") from error
        if not found:
            raise NameUnresolved(f"{host} does not resolve")
    for text in found:
        problem = _address_problem(ipaddress.ip_address(text))
        if problem:
            raise AddressRefused(problem if literal else f"{host} resolved to {text}: {problem}")
    return tuple(found)
