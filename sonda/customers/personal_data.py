"""The customers app's entry in the personal-data registry: profile, identities, consents."""

from typing import Any

from sonda.customers.models import Consent, Customer, CustomerIdentity, CustomerMerge
from sonda.privacy.registry import PersonalDataSource, register


def export(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "full_name": customer.full_name,
        "preferred_language": customer.preferred_language,
        "time_zone": customer.time_zone,
        "attributes": customer.attributes,
        "do_not_contact": customer.do_not_contact,
        "created_at": customer.created_at.isoformat(),
        "identities": [
            {"kind": i.kind, "source": i.source, "value": i.value}
            for i in CustomerIdentity.objects.filter(customer=customer).order_by("kind", "value")
        ],
        "consents": [
            {"channel": c.channel, "granted": c.granted, "updated_at": c.updated_at.isoformat()}
            for c in Consent.objects.filter(customer=customer).order_by("channel")
        ],
        "merged_profiles": list(
            CustomerMerge.objects.filter(surviving=customer).values_list("merged_id", flat=True)
        ),
    }


def erase(customer: Customer) -> int:
    """Remove what identifies the customer; the profile row stays as an anonymous statistic."""
    touched = CustomerIdentity.objects.filter(customer=customer).delete()[0]
    touched += Consent.objects.filter(customer=customer).delete()[0]
    # Merged-away profiles of the same person are part of the same person's data.
    for old in Customer.objects.filter(merged_into=customer):
        touched += erase(old)
    touched += Customer.objects.filter(pk=customer.pk).update(
        full_name="", time_zone="", attributes={}, do_not_contact=True
    )
    return touched


def register_source() -> None:
    register(PersonalDataSource(name="customers", export=export, erase=erase))
