"""Unsubscribing from a link in an email: the signed token and what following it does.

The token is the proof: it names the customer and the channel, signed with the site's secret key
and a salt of its own (a token signed for another purpose never passes here). It does not expire:
an unsubscribe link in an old email must keep working.
"""

from dataclasses import dataclass

from django.core import signing
from django.db import transaction

from sonda.customers.models import Customer
from sonda.customers.services import consent_set
from sonda.listening.models import Message, MessageStatus

SALT = "sonda.listening.unsubscribe"
SOURCE = "unsubscribe link"
MAX_MERGE_HOPS = 10


class BadToken(Exception):
    """The token was not signed by this site for unsubscribing (tampered, cut, or foreign)."""


@dataclass(frozen=True)
class Unsubscribe:
    customer_id: int
    channel: str
    language: str


def unsubscribe_token(*, customer_id: int, channel: str = "email", language: str = "") -> str:
    return signing.dumps({"c": customer_id, "ch": channel, "l": language}, salt=SALT, compress=True)


def unsubscribe_read(token: str) -> Unsubscribe:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as error:
        raise BadToken(str(error)) from error
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise BadToken("the token names no customer")
    return Unsubscribe(
        customer_id=data["c"], channel=str(data.get("ch") or "email"), language=str(data.get("l"))
    )


def unsubscribe_customer(request: Unsubscribe) -> Customer | None:
    """The profile the token stands for today (following merges); None when it is gone."""
    customer = Customer.objects.filter(pk=request.customer_id).first()
    for _hop in range(MAX_MERGE_HOPS):
        if customer is None or customer.merged_into_id is None:
            break
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    if customer is None or customer.erased_at is not None:
        return None
    return customer


def unsubscribe_record(*, customer: Customer, channel: str) -> int:
    """Withdraw the customer's consent on the channel and cancel what is waiting to go out on it.

    Idempotent: a second click finds the consent withdrawn and nothing queued. Answers how many
    queued messages were cancelled.
    """
    with transaction.atomic():
        consent_set(customer=customer, channel=channel, granted=False, source=SOURCE)
        customer_ids = [customer.pk, *customer.merged_profiles.values_list("pk", flat=True)]
        return Message.objects.filter(
            invitation__customer_id__in=customer_ids,
            channel=channel,
            status=MessageStatus.QUEUED,
        ).update(status=MessageStatus.CANCELLED, last_error="unsubscribed", lease_until=None)
