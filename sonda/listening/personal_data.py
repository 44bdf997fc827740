"""The listening app's entry in the personal-data registry: a customer's interaction events, the
decisions taken on them, their survey invitations and the messages that carried them.

Erasure keeps every row, so that event counts, skips by reason and response rates do not change,
and removes what is personal in them: the events' attributes (what the sender said about the
interaction: products, amounts, notes), the decisions' sentences, the messages' addresses and
provider errors (a bounce quotes the address). Messages not yet sent are cancelled. Events and
decisions stay linked to the profile, which the erasure leaves empty; the invitations are
detached from it, and the ones still open expire, so that no link keeps working for someone who
asked to be forgotten. A merge moves the merged profile's events, decisions and invitations (and
so their messages) to the surviving one.
"""

from typing import Any

from django.db.models import Q
from django.utils import timezone

from sonda.customers.models import Customer
from sonda.listening.models import (
    Event,
    Invitation,
    InvitationDecision,
    InvitationStatus,
    Message,
    MessageStatus,
)
from sonda.privacy.registry import PersonalDataSource, register

OPEN_STATUSES = (
    InvitationStatus.CREATED,
    InvitationStatus.SENT,
    InvitationStatus.DELIVERED,
    InvitationStatus.OPENED,
    InvitationStatus.STARTED,
)


def _profiles(customer: Customer) -> Q:
    # Profiles merged into this one are the same person; their rows count as theirs.
    return Q(customer=customer) | Q(customer__merged_into=customer)


def _stamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _invitations(customer: Customer) -> list[dict[str, Any]]:
    invitations = (
        Invitation.objects.filter(_profiles(customer), organisation_id=customer.organisation_id)
        .select_related("survey")
        .order_by("created_at", "pk")
    )
    return [
        {
            "survey": invitation.survey.name,
            "channel": invitation.channel,
            "status": invitation.status,
            "language": invitation.language,
            "touchpoint": invitation.touchpoint,
            "journey": invitation.journey,
            "stage": invitation.stage,
            "created_at": invitation.created_at.isoformat(),
            "expires_at": invitation.expires_at.isoformat(),
            "opened_at": _stamp(invitation.opened_at),
            "started_at": _stamp(invitation.started_at),
            "completed_at": _stamp(invitation.completed_at),
        }
        for invitation in invitations
    ]


def _events(customer: Customer) -> list[dict[str, Any]]:
    events = (
        Event.objects.filter(_profiles(customer), organisation_id=customer.organisation_id)
        .select_related("unit")
        .order_by("occurred_at", "pk")
    )
    return [
        {
            "event_type": event.event_type,
            "occurred_at": event.occurred_at.isoformat(),
            "channel": event.channel,
            "unit": event.unit.name if event.unit else "",
            "touchpoint": event.touchpoint,
            "journey": event.journey,
            "stage": event.stage,
            "attributes": event.attributes,
            "source": event.source,
        }
        for event in events
    ]


def _decisions(customer: Customer) -> list[dict[str, Any]]:
    decisions = (
        InvitationDecision.objects.filter(
            _profiles(customer), organisation_id=customer.organisation_id
        )
        .select_related("event", "rule", "contact_rule")
        .order_by("event__occurred_at", "pk")
    )
    return [
        {
            "event_type": decision.event.event_type,
            "occurred_at": decision.event.occurred_at.isoformat(),
            "rule": decision.rule.name if decision.rule else "",
            "outcome": decision.outcome,
            "reason": decision.reason,
            "contact_rule": decision.contact_rule.name if decision.contact_rule else "",
            "detail": decision.detail,
            "decided_at": decision.created_at.isoformat(),
        }
        for decision in decisions
    ]


def _customer_messages(customer: Customer) -> Q:
    return Q(invitation__customer=customer) | Q(invitation__customer__merged_into=customer)


def _messages(customer: Customer) -> list[dict[str, Any]]:
    """The emails and text messages sent; their idempotency keys are the product's, not theirs."""
    messages = (
        Message.objects.filter(
            _customer_messages(customer), organisation_id=customer.organisation_id
        )
        .select_related("invitation__survey")
        .order_by("created_at", "pk")
    )
    return [
        {
            "survey": message.invitation.survey.name,
            "kind": message.kind,
            "channel": message.channel,
            "to_address": message.to_address,
            "language": message.language,
            "status": message.status,
            "created_at": message.created_at.isoformat(),
            "sent_at": _stamp(message.sent_at),
            "delivered_at": _stamp(message.delivered_at),
            "failed_at": _stamp(message.failed_at),
        }
        for message in messages
    ]


def export(customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """The customer's events, decisions, invitations and messages, each oldest first.

    Invitation tokens are left out: a token is a key.
    """
    return {
        "events": _events(customer),
        "decisions": _decisions(customer),
        "invitations": _invitations(customer),
        "messages": _messages(customer),
    }


def erase(customer: Customer) -> int:
    """Anonymise the customer's events, decisions and messages, expire their open invitations
    and detach all of them; rows touched."""
    now = timezone.now()
    organisation_id = customer.organisation_id
    # Messages first: they are found through invitations that are detached below.
    messages = Message.objects.filter(_customer_messages(customer), organisation_id=organisation_id)
    message_ids = list(messages.values_list("pk", flat=True))
    Message.objects.filter(
        pk__in=message_ids, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    ).update(status=MessageStatus.CANCELLED, lease_until=None)
    touched = Message.objects.filter(pk__in=message_ids).update(
        to_address="", last_error="", updated_at=now
    )
    touched += Event.objects.filter(_profiles(customer), organisation_id=organisation_id).update(
        attributes={}, updated_at=now
    )
    touched += InvitationDecision.objects.filter(
        _profiles(customer), organisation_id=organisation_id
    ).update(detail="", updated_at=now)
    invitations = Invitation.objects.filter(_profiles(customer), organisation_id=organisation_id)
    ids = list(invitations.values_list("pk", flat=True))
    still_open = Invitation.objects.filter(pk__in=ids, status__in=OPEN_STATUSES)
    still_open.filter(expires_at__gt=now).update(expires_at=now)
    still_open.update(status=InvitationStatus.EXPIRED, expired_at=now, updated_at=now)
    touched += Invitation.objects.filter(pk__in=ids).update(customer=None, updated_at=now)
    return touched


def merge(surviving: Customer, merged: Customer) -> int:
    """Move the merged profile's events, decisions and invitations to the surviving one (the
    messages follow their invitations); rows moved."""
    moved = Event.objects.filter(customer=merged).update(customer=surviving)
    moved += InvitationDecision.objects.filter(customer=merged).update(customer=surviving)
    moved += Invitation.objects.filter(customer=merged).update(customer=surviving)
    return moved


def register_source() -> None:
    register(PersonalDataSource(name="listening", export=export, erase=erase, merge=merge))
