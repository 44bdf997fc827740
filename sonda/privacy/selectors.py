"""Scoped reads for personal-data requests: whose is the identifier a person asks about."""

from sonda.core.errors import FieldError, NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.models import CustomerIdentity
from sonda.privacy.actors import Actor, actor_authorise


def identity_key(*, kind: str, value: str, source: str = "") -> IdentityKey:
    """The identity in canonical form; errors name the caller's fields: kind, value or source."""
    try:
        return identity_normalise(kind=kind, value=value, source=source)
    except ValidationFailed as exc:
        errors = [
            FieldError(error.field if error.field in {"kind", "source"} else "value", error.message)
            for error in exc.errors
        ]
        raise ValidationFailed(
            "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors
        ) from exc


def customer_holding(*, scope: Actor, kind: str, value: str, source: str = "") -> int:
    """The number of the customer holding an identity (email, phone in E.164, external id).

    Merges move identities to the surviving profile, so this is the profile that stands for the
    person now. NotFound when nobody in the organisation holds it (an erased customer no longer
    does).
    """
    organisation, _, _ = actor_authorise(scope, "look up customers' personal data")
    key = identity_key(kind=kind, value=value, source=source)
    customer_id = (
        CustomerIdentity.objects.filter(
            organisation=organisation, kind=key.kind, source=key.source, value=key.value
        )
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        raise NotFound("No customer has this identity.")
    return customer_id
