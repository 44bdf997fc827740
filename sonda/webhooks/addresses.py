"""Which addresses an endpoint may have.

HTTPS only: the body carries the organisation's data, and the signature proves who sent it, not
that nobody else read it. Plain HTTP is accepted for a loopback receiver (127.0.0.0/8, ::1,
`localhost`) while Sonda runs in development or under test (SONDA_DEBUG / SONDA_TESTING), and
only then. Addresses that point into the Sonda host itself or its cloud's metadata service
(loopback outside development, link-local such as 169.254.169.254, unspecified, multicast) are
refused, so a webhook cannot be used to read what only the server can reach. Private addresses
(10/8, 172.16/12, 192.168/16, fc00::/7) are allowed: on-premise CRMs live there. Credentials in
the address are refused: receivers authenticate Sonda by the signature, and a password in a URL
ends up in logs.

The check runs when an endpoint is saved and again before each send (a setting may have
changed). It reads the address as written; a host name is not resolved, so a name that resolves
to a refused address is not caught here.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _loopback_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "TESTING", False))


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """Why this address cannot receive webhooks, or None when it can."""
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
    address = _ip(host)
    loopback = (
        host in LOOPBACK_NAMES
        or host.endswith(".localhost")
        or (address is not None and address.is_loopback)
    )
    if loopback:
        if not _loopback_allowed():
            return _("a loopback address can only be used in development")
        return None
    if address is not None and (
        address.is_link_local or address.is_unspecified or address.is_multicast
    ):
        return _("this address cannot receive webhooks (link-local, unspecified or multicast)")
    if parts.scheme != "https":
        return _("must use https")
    return None
