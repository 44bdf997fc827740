"""Customers over the API: profiles, lookup and resolution by identity, identities, merges."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Query
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.customers import selectors, services
from sonda.customers.models import Customer, CustomerMerge, IdentityKind
from sonda.customers.schemas import (
    REGION_PATTERN,
    CustomerCreateIn,
    CustomerOut,
    CustomerUpdateIn,
    IdentityIn,
    MergeIn,
    MergeOut,
    identity_key,
)

router = Router(tags=["customers"])


@router.get("", response=list[CustomerOut], summary="List or search customers")
@paginate(Page)
def customer_list(
    request: HttpRequest,
    search: str = Query(
        "",
        max_length=254,
        description="Any identity (email, phone, external id) or part of a name.",
    ),
) -> QuerySet[Customer]:
    return selectors.customer_list(scope=scope_of(request), search=search)


@router.get("/lookup", response=CustomerOut, summary="Find the customer holding an identity")
def customer_lookup(
    request: HttpRequest,
    kind: IdentityKind,
    value: str = Query(..., min_length=1, max_length=254),
    source: str = Query("", max_length=40, description="The source system of an external id."),
    region: str | None = Query(
        None, pattern=REGION_PATTERN, description="Country of a phone in national format: `RO`."
    ),
) -> Customer:
    key = identity_key(kind=kind.value, value=value, source=source, region=region)
    return selectors.customer_lookup(scope=scope_of(request), identity=key)


@router.post(
    "/resolve",
    response={200: CustomerOut, 201: CustomerOut},
    summary="Resolve an identity to its customer, creating the customer if new",
    description=(
        "Answers 201 with a new profile when nobody holds the identity yet, and 200 with the "
        "customer who holds it otherwise. Safe to repeat: the same identity always answers the "
        "same customer, also when two calls race."
    ),
)
def customer_resolve(request: HttpRequest, payload: IdentityIn) -> Status[Customer]:
    scope = scope_of(request)
    customer, created = services.customer_find_or_create(scope=scope, identity=payload.key())
    return Status(
        201 if created else 200, selectors.customer_get(scope=scope, customer_id=customer.pk)
    )


@router.get("/{customer_id}", response=CustomerOut, summary="Get a customer")
def customer_get(request: HttpRequest, customer_id: int) -> Customer:
    return selectors.customer_get(scope=scope_of(request), customer_id=customer_id)


@router.post("", response={201: CustomerOut}, summary="Create a customer with identities")
def customer_create(request: HttpRequest, payload: CustomerCreateIn) -> Status[Customer]:
    scope = scope_of(request)
    customer = services.customer_create(
        scope=scope,
        identities=payload.identity_keys(),
        full_name=payload.full_name,
        preferred_language=payload.preferred_language,
        time_zone=payload.time_zone,
        attributes=payload.attributes,
        do_not_contact=payload.do_not_contact,
        consents=payload.consents,
    )
    return Status(201, selectors.customer_get(scope=scope, customer_id=customer.pk))


@router.patch("/{customer_id}", response=CustomerOut, summary="Change a customer's profile")
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerUpdateIn) -> Customer:
    scope = scope_of(request)
    services.customer_update(
        scope=scope,
        customer_id=customer_id,
        full_name=payload.full_name,
        preferred_language=payload.preferred_language,
        time_zone=payload.time_zone,
        attributes=payload.attributes,
        do_not_contact=payload.do_not_contact,
        consents=payload.consents,
    )
    return selectors.customer_get(scope=scope, customer_id=customer_id)


@router.post("/{customer_id}/identities", response={201: CustomerOut}, summary="Add an identity")
def customer_identity_add(
    request: HttpRequest, customer_id: int, payload: IdentityIn
) -> Status[Customer]:
    scope = scope_of(request)
    services.customer_identity_add(scope=scope, customer_id=customer_id, identity=payload.key())
    return Status(201, selectors.customer_get(scope=scope, customer_id=customer_id))


@router.delete(
    "/{customer_id}/identities/{identity_id}",
    response={204: None},
    summary="Remove an identity",
)
def customer_identity_remove(
    request: HttpRequest, customer_id: int, identity_id: int
) -> Status[None]:
    services.customer_identity_remove(
        scope=scope_of(request), customer_id=customer_id, identity_id=identity_id
    )
    return Status(204, None)


@router.post(
    "/{customer_id}/merge",
    response={201: MergeOut},
    summary="Merge a duplicate profile into this customer",
    description="Identities and consents move here, history is kept, and the merge is audited.",
)
def customer_merge(
    request: HttpRequest, customer_id: int, payload: MergeIn
) -> Status[CustomerMerge]:
    merge = services.customer_merge(
        scope=scope_of(request),
        surviving_id=customer_id,
        merged_id=payload.merged_id,
        reason=payload.reason,
    )
    return Status(201, merge)


@router.get(
    "/{customer_id}/merges", response=list[MergeOut], summary="The merge history of a customer"
)
@paginate(Page)
def customer_merge_list(request: HttpRequest, customer_id: int) -> QuerySet[CustomerMerge]:
    return selectors.customer_merges(scope=scope_of(request), customer_id=customer_id).order_by(
        "-created_at", "-pk"
    )
