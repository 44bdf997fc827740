"""Delivery: the WebhookDelivery table is the queue. Claim what is due, POST it, record the answer.

The same design as listening's messages (ADR 0003, `sonda.listening.delivery`). Claiming is one
short transaction: due deliveries (queued and due, or `sending` whose lease ran out because the
worker holding them died) move to `sending` with a five-minute lease and one more attempt
counted. On PostgreSQL the rows are picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so two
workers never wait on or take the same delivery; on SQLite each row is claimed by a conditional
UPDATE that only one writer can win. The request is made outside any transaction. Just before it
the run renews that delivery's lease, and every write after the claim is conditional on the claim
still holding: status `sending` and the attempt count the claim set (a fencing token). A run so
slow that its lease ran out and another run took the delivery over finds its UPDATE matching
nothing: it cannot mark the delivery delivered a second time, nor overwrite what the newer
attempt recorded.

What a crash can and cannot do. A worker that dies after claiming loses nothing: the lease runs
out and the next run sends again. A worker that dies after the receiver answered 2xx but before
recording it makes the next run send again, with the same `Idempotency-Key`, event id and
`Sonda-Delivery`; receivers drop the repeat (docs/webhooks.md asks them to). So delivery is at
least once, and the delivery is marked delivered exactly once.

Answers: 2xx is delivered. 408, 429, 5xx, a timeout, a refused or reset connection are tried
again after 1, 5, 25 and 125 minutes, then the delivery fails. Any other answer (4xx, and 3xx:
redirects are not followed, the endpoint's address should be corrected instead) fails at once.
An endpoint that did not answer at all in a run is not called again in that run: its other
deliveries wait a minute without an attempt counted, so one dead receiver cannot hold a worker
for a timeout per queued event.

Signing: each request is signed at the moment it is sent, with the endpoint as it is then (read
again after the claim): its current secret, and its previous one too while a rotation's overlap
has not run out (`WebhookEndpoint.signing_secrets`).

Where a request goes (`sonda.webhooks.addresses`): before each send the endpoint's host name is
resolved and every address it resolves to is checked; a name that resolves to a refused address
(loopback outside development, link-local, unspecified, multicast) fails the delivery at once,
a name that does not resolve is tried again later. The connection is then opened to the checked
addresses themselves, while the request's Host header, TLS server name and certificate check keep
the host name: nothing looks the name up a second time, so a DNS answer that changes after the
check cannot send the body elsewhere. Proxies from the environment are not used for the same
reason (a proxy would resolve the name itself).
"""

import functools
import http.client
import json
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from sonda.webhooks.addresses import AddressRefused, NameUnresolved, send_addresses, url_problem
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery
from sonda.webhooks.signing import SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF_BASE_MINUTES = 1
BACKOFF_FACTOR = 5  # 1, 5, 25, 125 minutes between attempts
# A receiver is asked to answer quickly and do its work afterwards; waiting longer only holds the
# worker (and every other organisation's deliveries) on one slow system.
TIMEOUT_SECONDS = 10.0
# An endpoint that did not answer: its other deliveries in the run wait this long, uncounted.
DOWN_WAIT = timedelta(minutes=1)
BATCH = 200
USER_AGENT = "Sonda-Webhooks/1"
RETRY_STATUS = frozenset({408, 429})
ERROR_BODY_BYTES = 300


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 5, 25, 125 minutes."""
    return timedelta(minutes=BACKOFF_BASE_MINUTES * BACKOFF_FACTOR ** max(0, attempts - 1))


def _due(now: datetime) -> Q:
    return Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def webhooks_claim(*, now: datetime, limit: int = BATCH) -> list[int]:
    """Take up to `limit` due deliveries for this worker: `sending`, leased, one attempt more."""
    claim = {
        "status": DeliveryStatus.SENDING,
        "lease_until": now + LEASE,
        "attempts": F("attempts") + 1,
    }
    due = WebhookDelivery.objects.filter(_due(now)).order_by("next_attempt_at", "id")
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :limit
                ]
            )
            WebhookDelivery.objects.filter(pk__in=ids).update(**claim)
        return ids
    claimed = []
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        # Another worker may have taken it since the read: only the UPDATE that still sees it
        # due wins.
        if WebhookDelivery.objects.filter(_due(now), pk=pk).update(**claim):
            claimed.append(pk)
    return claimed


@dataclass(frozen=True)
class Outcome:
    """What one request came to: delivered, or why not and whether trying again can help."""

    delivered: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False
    # Nothing answered at all (timeout, refused, unreachable): spare the endpoint this run.
    unreachable: bool = False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx comes back as the answer: the body must not travel to an address nobody chose."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _connect_checked(
    addresses: tuple[str, ...],
    address: tuple[str, int],
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """A socket connected to the first of the checked addresses that answers, on the URL's port.

    Stands in for socket.create_connection, which would look the host name up again."""
    last_error: OSError = OSError("no checked address to connect to")
    for checked in addresses:
        try:
            return socket.create_connection((checked, address[1]), timeout, source_address)
        except OSError as error:
            last_error = error
    raise last_error


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to the checked addresses; the request still names the host (Host header)."""

    def __init__(self, host: str, *, addresses: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        # http.client opens its socket through this hook: replaced, the connection can only go
        # to the checked addresses (http.client's own would look the name up again).
        self._create_connection = functools.partial(_connect_checked, addresses)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses. The socket is opened through the same hook as plain HTTP
    and only then wrapped in TLS for the host name, so the server name sent (SNI) and the name
    the certificate must carry stay the endpoint's host name."""

    def __init__(self, host: str, *, addresses: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = functools.partial(_connect_checked, addresses)


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self.addresses = addresses

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPConnection, req, addresses=self.addresses)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self.addresses = addresses
        # Certificates checked against the system's authorities and the host name.
        self.tls = ssl.create_default_context()

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            _CheckedHTTPSConnection, req, context=self.tls, addresses=self.addresses
        )


def _opener_to(addresses: tuple[str, ...]) -> urllib.request.OpenerDirector:
    """An opener whose connections go to these checked addresses only: no redirects, and no
    proxy from the environment (a proxy would look the name up again itself)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirects(),
        _CheckedHTTPHandler(addresses),
        _CheckedHTTPSHandler(addresses),
    )


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON document sent: {id, type, created, organisation, data}; the same every attempt."""
    organisation = delivery.organisation
    document = {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created": delivery.event_created_at,
        "organisation": {"id": organisation.pk, "slug": organisation.slug},
        "data": delivery.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def webhook_post(delivery: WebhookDelivery, *, timeout: float, at: datetime) -> Outcome:
    """POST the delivery, signed, to its endpoint; what came of it.

    The endpoint's host name is resolved now and the request goes to the addresses checked."""
    endpoint = delivery.endpoint
    try:
        addresses = send_addresses(endpoint.url)
    except AddressRefused as refused:
        return Outcome(delivered=False, error=f"the endpoint's address: {refused}", permanent=True)
    except NameUnresolved as unresolved:
        # DNS may answer later: tried again, and the endpoint's other deliveries wait this run.
        return Outcome(delivered=False, error=f"cannot reach it: {unresolved}", unreachable=True)
    body = body_of(delivery)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by url_problem
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Sonda-Event": delivery.event_type,
            "Sonda-Delivery": str(delivery.pk),
            "Idempotency-Key": delivery.idempotency_key,
            SIGNATURE_HEADER: signature_header(
                endpoint.signing_secrets(at), body, int(at.timestamp())
            ),
        },
    )
    try:
        with _opener_to(addresses).open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return Outcome(delivered=True, status_code=response.status)
    except urllib.error.HTTPError as error:
        code = error.code
        detail = _answer_text(error)
        if 300 <= code < 400:
            where = error.headers.get("Location", "") if error.headers else ""
            return Outcome(
                delivered=False,
                status_code=code,
                error=f"answered {code} (redirects are not followed; Location: {where})",
                permanent=True,
            )
        transient = code >= 500 or code in RETRY_STATUS
        return Outcome(
            delivered=False,
            status_code=code,
            error=f"answered {code}: {detail}".strip(),
            permanent=not transient,
        )
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return Outcome(delivered=False, error="no answer in time", unreachable=True)
        return Outcome(delivered=False, error=f"cannot reach it: {reason}", unreachable=True)
    except TimeoutError:
        return Outcome(delivered=False, error="no answer in time", unreachable=True)
    except (OSError, http.client.HTTPException) as error:
        # Reset or closed mid-answer, or an answer that is not HTTP: nothing usable came back.
        return Outcome(delivered=False, error=f"{type(error).__name__}: {error}", unreachable=True)


def _answer_text(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(ERROR_BODY_BYTES).decode("utf-8", "replace").strip() or str(error.reason)
    except OSError:
        return str(error.reason)


def still_ours(delivery: WebhookDelivery) -> "QuerySet[WebhookDelivery]":
    """The delivery's row while this run's claim holds: the attempt count is the claim's token."""
    return WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
    )


def webhooks_deliver_due(
    *, now: datetime | None = None, limit: int = BATCH, timeout: float = TIMEOUT_SECONDS
) -> int:
    """Send the deliveries that are due; answers how many were delivered."""
    now = now or timezone.now()
    ids = webhooks_claim(now=now, limit=limit)
    if not ids:
        return 0
    deliveries = (
        # Only the rows this claim leased: a slow run must not pick up another worker's claim.
        WebhookDelivery.objects.filter(
            pk__in=ids, status=DeliveryStatus.SENDING, lease_until=now + LEASE
        )
        .select_related("endpoint", "organisation")
        .order_by("next_attempt_at", "id")
    )
    started = time.monotonic()
    unreachable: dict[int, str] = {}
    delivered = 0
    for delivery in deliveries:
        at = now + timedelta(seconds=time.monotonic() - started)
        # A long run renews each lease just before sending; a delivery whose lease ran out and
        # was claimed again (its attempt count moved on) belongs to that worker now.
        if not still_ours(delivery).update(lease_until=at + LEASE):
            continue
        if delivery.endpoint_id in unreachable:
            _postpone(delivery, unreachable[delivery.endpoint_id], at)
            continue
        outcome = _refused(delivery) or _send(delivery, timeout=timeout, at=at)
        if outcome.unreachable:
            unreachable[delivery.endpoint_id] = outcome.error
        recorded = _record(delivery, outcome, now + timedelta(seconds=time.monotonic() - started))
        delivered += recorded and outcome.delivered
    return delivered


def _send(delivery: WebhookDelivery, *, timeout: float, at: datetime) -> Outcome:
    try:
        return webhook_post(delivery, timeout=timeout, at=at)
    except Exception as error:
        # A bug in building one request must not stall the run; it is retried, then fails.
        log.exception("Webhook delivery %s could not be sent", delivery.pk)
        return Outcome(delivered=False, error=f"{type(error).__name__}: {error}")


def _refused(delivery: WebhookDelivery) -> Outcome | None:
    """Why the delivery must not be sent at all (it fails), or None to send it. The endpoint is
    read again: an admin may have deactivated it or changed its address since the claim."""
    endpoint = delivery.endpoint
    endpoint.refresh_from_db(
        fields=["active", "url", "secret", "previous_secret", "previous_secret_expires_at"]
    )
    if not endpoint.active:
        return Outcome(delivered=False, error="the endpoint is inactive", permanent=True)
    problem = url_problem(endpoint.url)
    if problem:
        return Outcome(delivered=False, error=f"the endpoint's address: {problem}", permanent=True)
    return None


def _postpone(delivery: WebhookDelivery, why: str, at: datetime) -> None:
    """Queue the delivery again a little later, without counting an attempt: its endpoint did
    not answer another delivery in this run."""
    still_ours(delivery).update(
        status=DeliveryStatus.QUEUED,
        next_attempt_at=at + DOWN_WAIT,
        lease_until=None,
        attempts=F("attempts") - 1,
        last_error=why[:500],
    )


def _record(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> bool:
    """Write what the attempt came to; False when the claim no longer held (nothing written)."""
    ours = still_ours(delivery)
    if outcome.delivered:
        # Conditional on this claim: a late answer to an older attempt matches nothing, so the
        # delivery is marked delivered once.
        return bool(
            ours.update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                last_attempt_at=now,
                last_status_code=outcome.status_code,
                lease_until=None,
                last_error="",
            )
        )
    error = outcome.error[:500]
    if outcome.permanent or delivery.attempts >= MAX_ATTEMPTS:
        failed = ours.update(
            status=DeliveryStatus.FAILED,
            failed_at=now,
            last_attempt_at=now,
            last_status_code=outcome.status_code,
            lease_until=None,
            last_error=error,
        )
        if failed:
            log.warning("Webhook delivery %s failed: %s", delivery.pk, error)
        return bool(failed)
    return bool(
        ours.update(
            status=DeliveryStatus.QUEUED,
            next_attempt_at=now + backoff(delivery.attempts),
            last_attempt_at=now,
            last_status_code=outcome.status_code,
            lease_until=None,
            last_error=error,
        )
    )
