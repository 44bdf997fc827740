"""Scoped reads of customers. Customer profiles are read by admins, analysts and executives.

Segments (a customer attribute and one of its values, e.g. tier=business) are read by every
dashboard reader: they give attribute names, values and customer ids to the analytics layer,
never a profile, and the figures they narrow stay within the reader's own scope of answers.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Prefetch, Q, QuerySet

from sonda.accounts.access import READ_CUSTOMERS, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.models import Customer, CustomerIdentity, CustomerMerge

# An attribute name a JSON key look-up can take whole ("__" would split it into a path).
SEGMENT_ATTRIBUTE = re.compile(r"^(?!.*__)[A-Za-z0-9_.\-]{1,64}$")
SEGMENT_VALUE_MAX_LENGTH = 200
# The segment choices are read from the newest customers only, so that listing them costs the
# same for a thousand customers or ten million; a value held by fewer than about one customer in
# a few thousand may be missing from the list (it can still be asked for by name).
SEGMENT_SAMPLE = 5_000
SEGMENT_CHOICES_SECONDS = 600
SEGMENT_CHOICES_MAX = 50
# An attribute with more values than this is an identifier or a number (a branch code, years of
# tenure), not a segment to pick from a list.
SEGMENT_VALUES_PER_ATTRIBUTE_MAX = 12
_SEGMENT_BATCH = 5_000


def customer_list(*, scope: Scope, search: str = "") -> QuerySet[Customer]:
    """Live (not merged, not erased) customers, optionally found by any identity or name."""
    scope.require(READ_CUSTOMERS, "read customer profiles")
    customers = (
        Customer.objects.filter(
            organisation=scope.organisation, merged_into__isnull=True, erased_at__isnull=True
        )
        .prefetch_related(
            Prefetch("identities", queryset=CustomerIdentity.objects.order_by("kind", "value")),
            "consents",
        )
        .order_by("-id")
    )
    search = search.strip()
    if not search:
        return customers
    candidates = Q(value=search) | Q(value__iexact=search)
    for kind in ("email", "phone"):
        try:
            key = identity_normalise(kind=kind, value=search, default_region="RO")
        except ValidationFailed:
            continue
        candidates |= Q(kind=key.kind, value=key.value)
    identity_owners = CustomerIdentity.objects.filter(
        candidates, organisation=scope.organisation
    ).values("customer_id")
    return customers.filter(Q(pk__in=identity_owners) | Q(full_name__icontains=search))


def customer_get(*, scope: Scope, customer_id: int) -> Customer:
    """One customer in scope. A merged profile is returned as it is (its merged_into says where)."""
    if not scope.can_read_customers:
        raise NotFound("No such customer.")
    customer = (
        Customer.objects.filter(
            organisation=scope.organisation, pk=customer_id, erased_at__isnull=True
        )
        .prefetch_related("identities", "consents")
        .first()
    )
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def customer_lookup(*, scope: Scope, identity: IdentityKey) -> Customer:
    """The live customer holding this identity (following merges)."""
    if not scope.can_read_customers:
        raise NotFound("No customer has this identity.")
    found = (
        CustomerIdentity.objects.filter(
            organisation=scope.organisation,
            kind=identity.kind,
            source=identity.source,
            value=identity.value,
        )
        .values_list("customer_id", flat=True)
        .first()
    )
    if found is None:
        raise NotFound("No customer has this identity.")
    return customer_get(scope=scope, customer_id=found)


def customer_merges(*, scope: Scope, customer_id: int) -> QuerySet[CustomerMerge]:
    """The merge history around a customer: profiles folded into it, or it into another."""
    customer = customer_get(scope=scope, customer_id=customer_id)
    return CustomerMerge.objects.filter(
        Q(surviving=customer) | Q(merged=customer), organisation=scope.organisation
    ).select_related("actor", "merged", "surviving")


# --- Segments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerSegment:
    """A customer attribute and one of its values: tier=business, products=loan."""

    attribute: str
    value: str

    def __str__(self) -> str:
        return f"{self.attribute} = {self.value}"


def segment_texts(stored: Any) -> set[str]:
    """The values a stored attribute puts its customer in, as text: a scalar's own (true/false
    for booleans, 5 for 5.0), each element of a list (products: one segment per product)."""
    items = stored if isinstance(stored, list) else [stored]
    out: set[str] = set()
    for item in items:
        if isinstance(item, bool):
            out.add("true" if item else "false")
        elif isinstance(item, int):
            out.add(str(item))
        elif isinstance(item, float):
            out.add(str(int(item)) if item.is_integer() else str(item))
        elif isinstance(item, str) and item.strip():
            out.add(item)
    return out


def customer_segment_members(*, scope: Scope, segment: CustomerSegment) -> frozenset[int]:
    """The ids of the organisation's customers in the segment (empty for an attribute or value
    no customer has); erased customers are in none."""
    if not SEGMENT_ATTRIBUTE.match(segment.attribute):
        raise ValidationFailed.on(
            "segment_attribute", "letters, digits, '_', '.' or '-' (no '__'), at most 64"
        )
    holders = (
        Customer.objects.filter(
            organisation_id=scope.organisation_id,
            erased_at__isnull=True,
            attributes__has_key=segment.attribute,
        )
        .values_list("pk", f"attributes__{segment.attribute}")
        .order_by()
    )
    # Matched here rather than in SQL: a list attribute holds the value as one of its elements,
    # and JSON containment is not available on every database Sonda runs on.
    return frozenset(
        pk
        for pk, stored in holders.iterator(chunk_size=_SEGMENT_BATCH)
        if segment.value in segment_texts(stored)
    )


def customer_segment_choices(
    *, scope: Scope, limit: int = SEGMENT_CHOICES_MAX
) -> list[CustomerSegment]:
    """The segments found on the organisation's newest customers, by attribute then value: whole
    attributes of at most a dozen values each, at most `limit` segments in all.

    Every dashboard's filter lists them, and reading thousands of customers' attributes costs a
    page more than its figures: the list is kept (in the process's cache, for ten minutes) until
    a customer is added, removed or saved, which one indexed aggregate tells."""
    state = Customer.objects.filter(organisation_id=scope.organisation_id).aggregate(
        newest=Max("pk"), changed=Max("updated_at"), count=Count("pk")
    )
    key = "sonda:segments:{}:{}:{}:{}:{}".format(
        scope.organisation_id,
        state["newest"],
        state["changed"].isoformat() if state["changed"] else "",
        state["count"],
        limit,
    )
    found: list[CustomerSegment] | None = cache.get(key)
    if found is None:
        found = _segment_choices(organisation_id=scope.organisation_id, limit=limit)
        cache.set(key, found, SEGMENT_CHOICES_SECONDS)
    return list(found)


def _segment_choices(*, organisation_id: int, limit: int) -> list[CustomerSegment]:
    values: dict[str, set[str]] = defaultdict(set)
    newest = (
        Customer.objects.filter(organisation_id=organisation_id, erased_at__isnull=True)
        .order_by("-pk")
        .values_list("attributes", flat=True)[:SEGMENT_SAMPLE]
    )
    for attributes in newest:
        if not isinstance(attributes, dict):
            continue
        for attribute, stored in attributes.items():
            if SEGMENT_ATTRIBUTE.match(attribute):
                values[attribute].update(
                    text for text in segment_texts(stored) if len(text) <= SEGMENT_VALUE_MAX_LENGTH
                )
    out: list[CustomerSegment] = []
    for attribute in sorted(values):
        found = sorted(values[attribute], key=_numbers_first)
        if len(found) > SEGMENT_VALUES_PER_ATTRIBUTE_MAX or len(out) + len(found) > limit:
            continue
        out.extend(CustomerSegment(attribute, value) for value in found)
    return out


def _numbers_first(text: str) -> tuple[int, float, str]:
    """Numbers in their order (1, 3, 12), then words in theirs."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)
