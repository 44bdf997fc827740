"""Personal data: export everything held about a customer, erase a customer found by any identity.

Both walk the personal-data registry, so every app's data about the customer is included without
this module knowing the apps. Both are for administrators, or for the organisation itself acting
through an operator's command line (`sonda.privacy.actors.OrganisationSystem`), and both are
audited: who acted on which customer and how many rows each source touched, never the identifiers.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sonda.accounts.models import Organisation, User
from sonda.accounts.services import audit_record
from sonda.core.errors import NotFound
from sonda.customers.models import Customer
from sonda.privacy.actors import Actor, actor_authorise
from sonda.privacy.registry import sources
from sonda.privacy.selectors import customer_holding

# Keys of an export document that are not a source's name.
EXPORT_HEADER = frozenset({"customer_id", "exported_at", "organisation"})


@dataclass(frozen=True)
class ErasureResult:
    """Which customer was erased, when, and how many rows each personal-data source touched."""

    customer_id: int
    erased_at: datetime
    rows: dict[str, int]


def _live_customer(organisation: Organisation, customer_id: int, *, lock: bool) -> Customer:
    """The profile that stands for the person now (following merges); erased ones are gone."""
    customers = Customer.objects.filter(organisation=organisation, erased_at__isnull=True)
    if lock:
        customers = customers.select_for_update()
    customer = customers.filter(pk=customer_id).first()
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        if customer.pk in seen:
            break
        seen.add(customer.pk)
        customer = customers.filter(pk=customer.merged_into_id).first()
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def customer_data_export(
    *, scope: Actor, customer_id: int, ip_address: str | None = None
) -> dict[str, Any]:
    """Everything the organisation holds about a customer, one entry per personal-data source.

    A merged-away profile exports the profile it was merged into: the same person's data.
    """
    organisation, actor, extra = actor_authorise(scope, "export a customer's personal data")
    with transaction.atomic():
        customer = _live_customer(organisation, customer_id, lock=False)
        document: dict[str, Any] = {
            "customer_id": customer.pk,
            "exported_at": timezone.now().isoformat(),
            "organisation": {"name": organisation.name, "slug": organisation.slug},
        }
        exported = []
        for source in sources():
            if source.name in EXPORT_HEADER:
                raise ValueError(f"a personal-data source may not be named {source.name!r}")
            document[source.name] = source.export(customer)
            exported.append(source.name)
        audit_record(
            action="customer.exported",
            organisation=organisation,
            actor=actor,
            target=customer,
            detail={**extra, "customer_id": customer.pk, "sources": exported},
            ip_address=ip_address,
        )
    return document


def customer_erase(
    *,
    scope: Actor,
    kind: str,
    value: str,
    source: str = "",
    ip_address: str | None = None,
) -> ErasureResult:
    """Erase the customer holding this identity (email, phone in E.164, or external id).

    Every personal-data source erases or anonymises its rows; the profile row stays, empty, so that
    statistics keep their counts. Once erased, the identity is gone: a second erasure finds nothing.
    """
    organisation, actor, extra = actor_authorise(scope, "erase customers")
    with transaction.atomic():
        customer_id = customer_holding(scope=scope, kind=kind, value=value, source=source)
        return _erase(organisation, customer_id, actor, extra, ip_address)


def customer_erase_by_id(
    *, scope: Actor, customer_id: int, ip_address: str | None = None
) -> ErasureResult:
    """Erase a customer chosen by their number, as `customer_erase` does."""
    organisation, actor, extra = actor_authorise(scope, "erase customers")
    with transaction.atomic():
        return _erase(organisation, customer_id, actor, extra, ip_address)


def _erase(
    organisation: Organisation,
    customer_id: int,
    actor: User | None,
    extra: dict[str, Any],
    ip_address: str | None,
) -> ErasureResult:
    # The row lock makes a concurrent second erasure wait, then find the customer erased.
    customer = _live_customer(organisation, customer_id, lock=True)
    rows = {source.name: source.erase(customer) for source in sources()}
    erased_at = timezone.now()
    # Profiles merged into this one are the same person: they are marked erased with it.
    Customer.objects.filter(
        Q(pk=customer.pk) | Q(merged_into=customer), organisation=organisation
    ).update(erased_at=erased_at)
    audit_record(
        action="customer.erased",
        organisation=organisation,
        actor=actor,
        target=customer,
        detail={**extra, "customer_id": customer.pk, "rows": rows},
        ip_address=ip_address,
    )
    return ErasureResult(customer_id=customer.pk, erased_at=erased_at, rows=rows)
