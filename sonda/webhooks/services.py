"""Writes of webhooks: endpoints (admins only, audited), the rotation of an endpoint's secret,
the emitting of events, a test event.

`webhook_emit` is how other apps (the loop's cases) hand an event over. It writes in the caller's
transaction, so an event whose transaction rolls back is never sent, and wakes the worker only
once that transaction has committed.
"""

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import ADMINISTER, Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import Conflict, FieldError, ValidationFailed
from sonda.webhooks.addresses import url_problem
from sonda.webhooks.models import (
    DEFAULT_PREVIOUS_VALID_HOURS,
    MAX_PREVIOUS_VALID_HOURS,
    SUBSCRIBABLE_EVENT_TYPES,
    TEST_EVENT_TYPE,
    WebhookDelivery,
    WebhookEndpoint,
)
from sonda.webhooks.selectors import webhook_endpoint_get
from sonda.webhooks.signing import secret_generate
from sonda.webhooks.tasks import wake_webhook_delivery

MAX_DESCRIPTION = 200
MAX_EVENT_ID = 100
# A receiver should not have to accept megabytes; an event carries ids and a summary, not files.
MAX_PAYLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class IssuedEndpoint:
    """A new endpoint and its secret, which is shown this once."""

    endpoint: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class RotatedSecret:
    """An endpoint with its new secret, which is shown this once, and until when its previous
    secret still signs (None: it stopped at once)."""

    endpoint: WebhookEndpoint
    secret: str
    previous_expires_at: datetime | None


def _url(value: object) -> str:
    url = value.strip() if isinstance(value, str) else ""
    # The address as written; its host name is not resolved here. The receiver's DNS may answer
    # only inside its own network, or not yet, and an answer now proves nothing about the next
    # one: every send resolves the name and checks the addresses it connects to.
    problem = url_problem(url)
    if problem:
        raise ValidationFailed.on("url", problem)
    return url


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationFailed.on("description", _("must be a text"))
    if len(value.strip()) > MAX_DESCRIPTION:
        raise ValidationFailed.on(
            "description", _("at most %(n)d characters") % {"n": MAX_DESCRIPTION}
        )
    return value.strip()


def _event_types(value: object) -> list[str]:
    field = "event_types"
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValidationFailed.on(field, _("subscribe to at least one event type"))
    chosen: list[str] = []
    errors: list[FieldError] = []
    known = ", ".join(sorted(SUBSCRIBABLE_EVENT_TYPES))
    for index, item in enumerate(value):
        if item not in SUBSCRIBABLE_EVENT_TYPES:
            errors.append(
                FieldError(
                    f"{field}[{index}]",
                    _("unknown event type; one of %(known)s") % {"known": known},
                )
            )
        elif item not in chosen:
            chosen.append(str(item))
    if errors:
        raise ValidationFailed(_("event_types: unknown event types"), errors=errors)
    return chosen


def _active(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.on("active", _("true or false"))
    return value


def _previous_valid_hours(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.on("previous_valid_hours", _("a whole number of hours"))
    if not 0 <= value <= MAX_PREVIOUS_VALID_HOURS:
        raise ValidationFailed.on(
            "previous_valid_hours",
            _("from 0 to %(n)d hours") % {"n": MAX_PREVIOUS_VALID_HOURS},
        )
    return value


def _audit(scope: Scope, action: str, endpoint: WebhookEndpoint, detail: dict[str, Any]) -> None:
    audit_record(
        action=action,
        organisation=scope.organisation,
        actor=scope.user,
        target=endpoint,
        detail=detail,
    )


def webhook_endpoint_create(
    *,
    scope: Scope,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    active: bool = True,
) -> IssuedEndpoint:
    """Register an endpoint; the answer carries its new secret, which is never shown again."""
    scope.require(ADMINISTER, "manage webhooks")
    values = {
        "url": _url(url),
        "event_types": _event_types(event_types),
        "description": _description(description),
        "active": _active(active),
    }
    secret = secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=scope.organisation, created_by=scope.user, secret=secret, **values
        )
        _audit(scope, "webhook.created", endpoint, values)
    return IssuedEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(
    *,
    scope: Scope,
    endpoint_id: int,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is). Deliveries already queued keep going
    to the endpoint's address as it is when they are sent."""
    # Anyone but the organisation's admins does not find the endpoint, whatever they send.
    endpoint = webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = _url(url)
    if event_types is not None:
        changes["event_types"] = _event_types(event_types)
    if description is not None:
        changes["description"] = _description(description)
    if active is not None:
        changes["active"] = _active(active)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = {name: getattr(endpoint, name) for name in changes}
        for name, value in changes.items():
            setattr(endpoint, name, value)
        if changes:
            endpoint.save(update_fields=[*changes, "updated_at"])
            _audit(scope, "webhook.changed", endpoint, {"before": before, "after": changes})
    return endpoint


def webhook_endpoint_rotate_secret(
    *,
    scope: Scope,
    endpoint_id: int,
    previous_valid_hours: int = DEFAULT_PREVIOUS_VALID_HOURS,
    now: datetime | None = None,
) -> RotatedSecret:
    """Give the endpoint a new secret; the answer carries it, and it is never shown again.

    The secret it replaces keeps signing beside the new one for `previous_valid_hours` (0: it
    stops at once), so the receiver can switch without refusing a delivery. A secret that was
    still overlapping from an earlier rotation is dropped: one previous secret at most."""
    # Anyone but the organisation's admins does not find the endpoint, whatever they send.
    endpoint = webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)
    hours = _previous_valid_hours(previous_valid_hours)
    rotated_at = now or timezone.now()
    secret = secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if hours:
            endpoint.previous_secret = endpoint.secret
            endpoint.previous_secret_expires_at = rotated_at + timedelta(hours=hours)
        else:
            # Stopped at once: a leaked secret is not kept anywhere.
            endpoint.previous_secret = ""
            endpoint.previous_secret_expires_at = None
        endpoint.secret = secret
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        expires_at = endpoint.previous_secret_expires_at
        _audit(
            scope,
            "webhook.secret_rotated",
            endpoint,
            {
                "previous_valid_hours": hours,
                "previous_expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return RotatedSecret(endpoint=endpoint, secret=secret, previous_expires_at=expires_at)


def webhook_endpoint_delete(*, scope: Scope, endpoint_id: int) -> None:
    """Remove an endpoint with its deliveries: nothing more is sent to it."""
    with transaction.atomic():
        endpoint = webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)
        _audit(scope, "webhook.deleted", endpoint, {"url": endpoint.url})
        endpoint.delete()


def _json_object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValidationFailed.on("payload", _("must be a JSON object"))
    try:
        text = json.dumps(payload, cls=DjangoJSONEncoder)
    except (TypeError, ValueError) as error:
        raise ValidationFailed.on("payload", _("cannot be written as JSON: %s") % error) from error
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ValidationFailed.on(
            "payload", _("at most %(n)d bytes as JSON") % {"n": MAX_PAYLOAD_BYTES}
        )
    # What the database will hold and every attempt will send: plain JSON values.
    data: dict[str, Any] = json.loads(text)
    return data


def _event_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.on("event_id", _("an event id is required"))
    if len(value) > MAX_EVENT_ID:
        raise ValidationFailed.on("event_id", _("at most %(n)d characters") % {"n": MAX_EVENT_ID})
    return value


def _delivery(
    endpoint: WebhookEndpoint,
    *,
    event_type: str,
    event_id: str,
    payload: dict[str, Any],
    created: datetime,
) -> WebhookDelivery:
    return WebhookDelivery(
        organisation_id=endpoint.organisation_id,
        endpoint=endpoint,
        event_id=event_id,
        event_type=event_type,
        event_created_at=created,
        payload=payload,
        idempotency_key=secrets.token_hex(16),
        next_attempt_at=created,
    )


def webhook_emit(
    *,
    organisation_id: int,
    event_type: str,
    event_id: str,
    payload: Mapping[str, Any],
    occurred_at: datetime | None = None,
) -> int:
    """Queue the event for every active endpoint of the organisation subscribed to its type;
    answers how many endpoints it is for.

    Call it inside the transaction that made the change the event reports. The same event id
    emitted again (a retried job, a replayed request) queues nothing new: one delivery per
    endpoint and event id.
    """
    if event_type not in SUBSCRIBABLE_EVENT_TYPES:
        raise ValidationFailed.on("event_type", _("unknown event type %r") % event_type)
    event_id = _event_id(event_id)
    data = _json_object(payload)
    created = occurred_at or timezone.now()
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            organisation_id=organisation_id, active=True
        ).order_by("id")
        if endpoint.subscribes_to(event_type)
    ]
    if not endpoints:
        return 0
    deliveries = [
        _delivery(e, event_type=event_type, event_id=event_id, payload=data, created=created)
        for e in endpoints
    ]
    # A delivery already queued for (endpoint, event id) stays as it is; ON CONFLICT DO NOTHING
    # keeps the caller's transaction usable on PostgreSQL.
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    transaction.on_commit(wake_webhook_delivery)
    return len(endpoints)


def webhook_endpoint_send_test(*, scope: Scope, endpoint_id: int) -> WebhookDelivery:
    """Queue a `webhook.test` event for one endpoint, whatever it subscribes to, so an admin can
    see a receiver verify the signature and answer; answers the delivery to follow."""
    with transaction.atomic():
        endpoint = webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)
        if not endpoint.active:
            raise Conflict.on("active", _("the endpoint is inactive; activate it first"))
        now = timezone.now()
        delivery = _delivery(
            endpoint,
            event_type=TEST_EVENT_TYPE,
            event_id=f"test_{secrets.token_hex(12)}",
            payload={
                "message": "A test event from Sonda: verify its signature and answer 2xx.",
                "endpoint_id": endpoint.pk,
            },
            created=now,
        )
        delivery.save()
        _audit(scope, "webhook.test_sent", endpoint, {"event_id": delivery.event_id})
        transaction.on_commit(wake_webhook_delivery)
    return delivery
