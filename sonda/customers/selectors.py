"""Scoped reads of customers. Customer profiles are read by admins, analysts and executives."""

from django.db.models import Prefetch, Q, QuerySet

from sonda.accounts.access import READ_CUSTOMERS, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.models import Customer, CustomerIdentity, CustomerMerge


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
