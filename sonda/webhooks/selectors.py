"""Scoped reads of webhook endpoints and their deliveries.

Webhooks hand the organisation's data to another system, so they are the admins' alone: other
roles are refused the list (403) and do not find an endpoint (404); another organisation's
endpoints are not found either.
"""

from django.db.models import QuerySet

from sonda.accounts.access import ADMINISTER, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, scope: Scope) -> QuerySet[WebhookEndpoint]:
    """The organisation's endpoints, oldest first."""
    scope.require(ADMINISTER, "manage webhooks")
    return (
        WebhookEndpoint.objects.filter(organisation=scope.organisation)
        .select_related("created_by")
        .order_by("id")
    )


def webhook_endpoint_get(*, scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint of the organisation; not found for anyone but its admins."""
    if not scope.is_admin:
        raise NotFound("No such webhook endpoint.")
    endpoint = webhook_endpoint_list(scope=scope).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


def webhook_delivery_list(
    *, scope: Scope, endpoint_id: int, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first, optionally only those in one status."""
    endpoint = webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)
    deliveries = WebhookDelivery.objects.filter(
        organisation=scope.organisation, endpoint=endpoint
    ).order_by("-created_at", "-id")
    if status:
        if status not in DeliveryStatus.values:
            raise ValidationFailed.on("status", f"one of {', '.join(DeliveryStatus.values)}")
        deliveries = deliveries.filter(status=status)
    return deliveries


def webhook_delivery_get(*, scope: Scope, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = webhook_delivery_list(scope=scope, endpoint_id=endpoint_id).filter(pk=delivery_id)
    found = delivery.first()
    if found is None:
        raise NotFound("No such webhook delivery.")
    return found
