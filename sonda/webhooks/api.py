"""/webhooks: an organisation's webhook endpoints, their deliveries, and a test event.

Admins only: other roles are refused the list (403) and do not find an endpoint (404); another
organisation's endpoints are not found. Handlers parse, call a service or selector, and answer.
Secrets are in two answers only: registering an endpoint and rotating its secret.
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Query
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.webhooks import selectors, services
from sonda.webhooks.models import WebhookDelivery, WebhookEndpoint
from sonda.webhooks.schemas import (
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointCreateIn,
    WebhookEndpointOut,
    WebhookEndpointUpdateIn,
    WebhookSecretRotatedOut,
    WebhookSecretRotateIn,
)

router = Router(tags=["webhooks"])


@router.get("", response=list[WebhookEndpointOut], summary="List webhook endpoints")
@paginate(Page)
def webhook_endpoint_list(request: HttpRequest) -> QuerySet[WebhookEndpoint]:
    return selectors.webhook_endpoint_list(scope=scope_of(request))


@router.post(
    "",
    response={201: WebhookEndpointCreatedOut},
    summary="Register a webhook endpoint",
    description="The answer carries the signing secret; it is shown this once.",
)
def webhook_endpoint_create(
    request: HttpRequest, payload: WebhookEndpointCreateIn
) -> Status[WebhookEndpoint]:
    issued = services.webhook_endpoint_create(
        scope=scope_of(request),
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
        active=payload.active,
    )
    # The one answer that carries the secret (WebhookEndpointCreatedOut); reads never do.
    return Status(201, issued.endpoint)


@router.get("/{endpoint_id}", response=WebhookEndpointOut, summary="Get a webhook endpoint")
def webhook_endpoint_get(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return selectors.webhook_endpoint_get(scope=scope_of(request), endpoint_id=endpoint_id)


@router.patch("/{endpoint_id}", response=WebhookEndpointOut, summary="Change a webhook endpoint")
def webhook_endpoint_update(
    request: HttpRequest, endpoint_id: int, payload: WebhookEndpointUpdateIn
) -> WebhookEndpoint:
    scope = scope_of(request)
    services.webhook_endpoint_update(
        scope=scope,
        endpoint_id=endpoint_id,
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
        active=payload.active,
    )
    return selectors.webhook_endpoint_get(scope=scope, endpoint_id=endpoint_id)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response=WebhookSecretRotatedOut,
    summary="Rotate a webhook endpoint's signing secret",
    description=(
        "Gives the endpoint a new secret, carried by this answer only. The secret it replaces "
        "keeps signing beside the new one until `previous_secret_expires_at`: meanwhile every "
        "delivery carries a `v1=` signature for each, so the receiver can switch at its pace. "
        "Rotating again during that time drops the older secret: one previous secret at most."
    ),
)
def webhook_endpoint_rotate_secret(
    request: HttpRequest, endpoint_id: int, payload: WebhookSecretRotateIn
) -> WebhookEndpoint:
    rotated = services.webhook_endpoint_rotate_secret(
        scope=scope_of(request),
        endpoint_id=endpoint_id,
        previous_valid_hours=payload.previous_valid_hours,
    )
    # The endpoint as rotated, so the secret shown is the one just issued, never a later one.
    return rotated.endpoint


@router.delete(
    "/{endpoint_id}", response={204: None}, summary="Remove a webhook endpoint and its deliveries"
)
def webhook_endpoint_delete(request: HttpRequest, endpoint_id: int) -> Status[None]:
    services.webhook_endpoint_delete(scope=scope_of(request), endpoint_id=endpoint_id)
    return Status(204, None)


@router.get(
    "/{endpoint_id}/deliveries",
    response=list[WebhookDeliveryOut],
    summary="List an endpoint's deliveries, newest first",
)
@paginate(Page)
def webhook_delivery_list(
    request: HttpRequest,
    endpoint_id: int,
    status: str | None = Query(None, description="queued, sending, delivered or failed."),
) -> QuerySet[WebhookDelivery]:
    return selectors.webhook_delivery_list(
        scope=scope_of(request), endpoint_id=endpoint_id, status=status
    )


@router.post(
    "/{endpoint_id}/test",
    response={202: WebhookDeliveryOut},
    summary="Send a test event to the endpoint",
    description=(
        "Queues a `webhook.test` event for this endpoint, whatever it subscribes to; follow it in "
        "the endpoint's deliveries."
    ),
)
def webhook_endpoint_send_test(request: HttpRequest, endpoint_id: int) -> Status[WebhookDelivery]:
    delivery = services.webhook_endpoint_send_test(scope=scope_of(request), endpoint_id=endpoint_id)
    return Status(202, delivery)
