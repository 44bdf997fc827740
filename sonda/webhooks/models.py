"""Webhooks: the organisation's endpoints (an integration such as a CRM) and each event's delivery
to each endpoint, which is also the delivery queue (as listening's `Message`, ADR 0003).

An endpoint subscribes to event types; `webhook_emit` writes one delivery per subscribed active
endpoint in the caller's transaction, and the worker sends it, signed with the endpoint's secret.
"""

from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel

# The events Sonda emits, by type. An endpoint subscribes to some of them; `webhook.test` is sent
# only when an admin asks for it ("send test event") and cannot be subscribed to.
CASE_EVENT_TYPES: dict[str, str] = {
    "case.opened": "A case was opened from a response (an alert rule fired).",
    "case.routed": "A case was routed or reassigned to an owner.",
    "case.state_changed": "A case moved to another state of its workflow.",
    "case.note_added": "A note was added to a case.",
    "case.coded": "Root-cause problems were coded on a case.",
    "case.escalated": "A case passed its SLA deadline and was escalated.",
    "case.closed": "A case was closed.",
    "case.reopened": "A closed case was reopened.",
}
TEST_EVENT_TYPE = "webhook.test"
SUBSCRIBABLE_EVENT_TYPES = frozenset(CASE_EVENT_TYPES)
EVENT_TYPES = SUBSCRIBABLE_EVENT_TYPES | {TEST_EVENT_TYPE}
# How long a rotated-out secret keeps signing beside the new one: a day unless asked, a week at
# most (a leaked secret should not stay valid for long).
DEFAULT_PREVIOUS_VALID_HOURS = 24
MAX_PREVIOUS_VALID_HOURS = 168


class WebhookEndpoint(TenantModel):
    """Where an integration receives the events it subscribed to.

    The secret signs every delivery (HMAC-SHA256). It is kept readable, not hashed, because Sonda
    must sign with it; the API shows it only in the answer that created it or rotated it.

    After a rotation the previous secret signs beside the current one until it expires, so a
    receiver can move to the new secret without refusing a delivery; one previous secret at most.
    """

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            # A previous secret always says until when it signs; no date without a secret.
            models.CheckConstraint(
                condition=Q(previous_secret="", previous_secret_expires_at__isnull=True)
                | (~Q(previous_secret="") & Q(previous_secret_expires_at__isnull=False)),
                name="webhook_endpoint_previous_secret_expires",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets a delivery sent at `at` is signed with: the current one first, then the
        previous one while it has not expired."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and at < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(TenantModel):
    """One event for one endpoint: the queue row and the record of its attempts.

    One delivery per (endpoint, event id), so an event emitted twice is sent once. A worker claims
    a queued delivery by moving it to `sending` with a lease and one more attempt; every later
    write is conditional on that attempt count (the fencing token), so a worker that lost its
    lease can neither mark the delivery delivered nor overwrite what the next worker recorded.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=64)
    # When the event happened: the body's `created`, the same on every attempt.
    event_created_at = models.DateTimeField()
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # Sent as `Idempotency-Key`, the same on every attempt, so a receiver can drop a repeat.
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_one_per_event"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status"
            ),
            # A delivered delivery says when; a leased one is being sent and nothing else.
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_at",
            ),
            models.CheckConstraint(
                condition=Q(status=DeliveryStatus.SENDING) | Q(lease_until__isnull=True),
                name="webhook_delivery_lease_only_sending",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"
