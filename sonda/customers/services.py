"""Writes for customers: identity resolution, profiles, consent, merges."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import Organisation
from sonda.accounts.services import audit_record
from sonda.core.errors import Conflict, NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey
from sonda.customers.models import Channel, Consent, Customer, CustomerIdentity, CustomerMerge
from sonda.privacy.registry import sources as personal_data_sources

LANGUAGE_CODES = {"en", "ro", "pl", "de", "fr", "es", "it", "hu", "uk", "cs", "sk", "bg"}
MAX_ATTRIBUTES_BYTES = 16_384


def _check_profile(*, preferred_language: str | None, attributes: dict[str, Any] | None) -> None:
    if preferred_language and preferred_language not in LANGUAGE_CODES:
        raise ValidationFailed.on(
            "preferred_language", f"'{preferred_language}' is not a supported language code"
        )
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise ValidationFailed.on("attributes", "must be an object of segment attributes")
        if len(repr(attributes)) > MAX_ATTRIBUTES_BYTES:
            raise ValidationFailed.on("attributes", "too large (at most 16 KB)")


def _live(customer: Customer) -> Customer:
    """Follow merges to the profile that now stands for this person."""
    seen = set()
    while customer.merged_into_id is not None and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_resolve(
    *,
    organisation: Organisation,
    identity: IdentityKey,
    defaults: dict[str, Any] | None = None,
) -> tuple[Customer, bool]:
    """The customer this identity belongs to, creating one if it is new: (customer, created).

    Safe under concurrency: two requests resolving the same new identity at once create one
    customer. The loser of the race rolls back its savepoint (customer and identity together)
    and reads the winner's row.
    """
    lookup = {
        "organisation": organisation,
        "kind": identity.kind,
        "source": identity.source,
        "value": identity.value,
    }
    found = CustomerIdentity.objects.select_related("customer").filter(**lookup).first()
    if found is not None:
        return _live(found.customer), False
    try:
        with transaction.atomic():
            customer = Customer.objects.create(organisation=organisation, **(defaults or {}))
            CustomerIdentity.objects.create(customer=customer, **lookup)
            return customer, True
    except IntegrityError:
        found = CustomerIdentity.objects.select_related("customer").get(**lookup)
        return _live(found.customer), False


def customer_find_or_create(*, scope: Scope, identity: IdentityKey) -> tuple[Customer, bool]:
    """The customer an integrator's identity belongs to, created if new: (customer, created).

    It may create a profile, so it takes a role that may create customers; repeating the call
    with the same identity answers the same customer.
    """
    scope.require(CONFIGURE, "create customers")
    return customer_resolve(organisation=scope.organisation, identity=identity)


def customers_resolve_bulk(
    *, organisation: Organisation, identities: Sequence[IdentityKey], batch_size: int = 2000
) -> list[int]:
    """Customer ids for many identities at once, creating customers for the new ones.

    Returns one id per input, in order. Made for event ingestion: a few queries per batch instead
    of a few per identity. Identities created concurrently elsewhere are picked up, and the
    customers created here for them are removed again.
    """
    out: list[int] = []
    for start in range(0, len(identities), batch_size):
        out.extend(_resolve_batch(organisation, identities[start : start + batch_size]))
    return out


def _existing(organisation: Organisation, keys: Iterable[IdentityKey]) -> dict[IdentityKey, int]:
    by_kind: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        by_kind.setdefault((key.kind, key.source), set()).add(key.value)
    condition = Q()
    for (kind, source), values in by_kind.items():
        condition |= Q(kind=kind, source=source, value__in=values)
    if not by_kind:
        return {}
    rows = CustomerIdentity.objects.filter(condition, organisation=organisation).values_list(
        "kind", "source", "value", "customer_id", "customer__merged_into_id"
    )
    return {
        IdentityKey(kind, source, value): merged or customer
        for kind, source, value, customer, merged in rows
    }


def _resolve_batch(organisation: Organisation, batch: Sequence[IdentityKey]) -> list[int]:
    known = _existing(organisation, batch)
    new_keys = list(dict.fromkeys(k for k in batch if k not in known))
    if new_keys:
        with transaction.atomic():
            customer_ids = _customers_insert(organisation.pk, len(new_keys))
            created = dict(zip(new_keys, customer_ids, strict=True))
            inserted = _identities_insert(organisation.pk, created)
            known.update({key: cid for key, cid in created.items() if cid in inserted})
            # A concurrent writer won some identities: take theirs, drop our now-empty profiles.
            lost = [key for key, cid in created.items() if cid not in inserted]
            if lost:
                known.update(_existing(organisation, lost))
                Customer.objects.filter(
                    pk__in=[created[key] for key in lost], identities__isnull=True
                ).delete()
    return [known[key] for key in batch]


# Ingestion creates customers by the thousand: these two inserts write plain multi-row SQL, as the
# ORM's per-object work (model instances, per-field preparation) cost more than the database's.


def _rows_per_statement(params_per_row: int) -> int:
    limit = connection.features.max_query_params or 65_535  # PostgreSQL's protocol limit
    return max(1, limit // params_per_row)


def _customers_insert(organisation_id: int, count: int) -> list[int]:
    """The ids of `count` new, empty customer profiles (in no particular order: they are alike)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(Customer._meta.db_table)
    row = f"({int(organisation_id)}, %s, %s, '', '', '', '{{}}', false)"
    ids: list[int] = []
    per_statement = _rows_per_statement(2)
    with connection.cursor() as cursor:
        for start in range(0, count, per_statement):
            rows = min(per_statement, count - start)
            cursor.execute(
                f"INSERT INTO {table} (organisation_id, created_at, updated_at, full_name, "  # noqa: S608
                "preferred_language, time_zone, attributes, do_not_contact) "
                f"VALUES {', '.join([row] * rows)} RETURNING id",
                [now, now] * rows,
            )
            ids.extend(int(found) for (found,) in cursor.fetchall())
    return ids


def _identities_insert(organisation_id: int, owners: dict[IdentityKey, int]) -> set[int]:
    """Give each new customer its identity, unless another writer holds it already.

    Returns the customers whose identity went in; the others lost a race for theirs.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(CustomerIdentity._meta.db_table)
    pairs = list(owners.items())
    inserted: set[int] = set()
    per_statement = _rows_per_statement(5)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), per_statement):
            chunk = pairs[start : start + per_statement]
            params: list[Any] = []
            for key, _ in chunk:
                params.extend((now, now, key.kind, key.source, key.value))
            values = ", ".join(
                f"({int(organisation_id)}, {int(customer_id)}, %s, %s, %s, %s, %s)"
                for _, customer_id in chunk
            )
            cursor.execute(
                f"INSERT INTO {table} (organisation_id, customer_id, created_at, updated_at, "  # noqa: S608
                f"kind, source, value) VALUES {values} "
                "ON CONFLICT (organisation_id, kind, source, value) DO NOTHING "
                "RETURNING customer_id",
                params,
            )
            inserted.update(int(owner) for (owner,) in cursor.fetchall())
    return inserted


def customer_create(
    *,
    scope: Scope,
    identities: Sequence[IdentityKey],
    full_name: str = "",
    preferred_language: str = "",
    time_zone: str = "",
    attributes: dict[str, Any] | None = None,
    do_not_contact: bool = False,
    consents: dict[str, bool] | None = None,
) -> Customer:
    """Create a profile with its identities; an identity already known is a conflict."""
    scope.require(CONFIGURE, "create customers")
    _check_profile(preferred_language=preferred_language, attributes=attributes)
    if len(set(identities)) != len(identities):
        raise ValidationFailed.on("identities", "the same identity is listed twice")
    with transaction.atomic():
        customer = Customer.objects.create(
            organisation=scope.organisation,
            full_name=full_name,
            preferred_language=preferred_language,
            time_zone=time_zone,
            attributes=attributes or {},
            do_not_contact=do_not_contact,
        )
        for index, key in enumerate(identities):
            _identity_attach(customer, key, field=f"identities[{index}]")
        for channel, granted in (consents or {}).items():
            consent_set(customer=customer, channel=channel, granted=granted, source="profile")
    return customer


def _identity_attach(customer: Customer, key: IdentityKey, *, field: str) -> CustomerIdentity:
    try:
        with transaction.atomic():
            return CustomerIdentity.objects.create(
                organisation_id=customer.organisation_id,
                customer=customer,
                kind=key.kind,
                source=key.source,
                value=key.value,
            )
    except IntegrityError as exc:
        owner = (
            CustomerIdentity.objects.filter(
                organisation_id=customer.organisation_id,
                kind=key.kind,
                source=key.source,
                value=key.value,
            )
            .values_list("customer_id", flat=True)
            .first()
        )
        raise Conflict.on(field, f"{key} already belongs to customer {owner}") from exc


def customer_update(
    *,
    scope: Scope,
    customer_id: int,
    full_name: str | None = None,
    preferred_language: str | None = None,
    time_zone: str | None = None,
    attributes: dict[str, Any] | None = None,
    do_not_contact: bool | None = None,
    consents: dict[str, bool] | None = None,
) -> Customer:
    scope.require(CONFIGURE, "change customers")
    _check_profile(preferred_language=preferred_language, attributes=attributes)
    with transaction.atomic():
        customer = _customer_for_update(scope, customer_id)
        fields = ["updated_at"]
        for name, value in (
            ("full_name", full_name),
            ("preferred_language", preferred_language),
            ("time_zone", time_zone),
            ("attributes", attributes),
            ("do_not_contact", do_not_contact),
        ):
            if value is not None:
                setattr(customer, name, value)
                fields.append(name)
        customer.save(update_fields=fields)
        for channel, granted in (consents or {}).items():
            consent_set(customer=customer, channel=channel, granted=granted, source="profile")
    return customer


def _customer_for_update(scope: Scope, customer_id: int) -> Customer:
    customer = (
        Customer.objects.select_for_update()
        .filter(organisation=scope.organisation, pk=customer_id, erased_at__isnull=True)
        .first()
    )
    if customer is None:
        raise NotFound("No such customer.")
    if customer.merged_into_id is not None:
        raise Conflict.on("customer", f"merged into customer {customer.merged_into_id}")
    return customer


def customer_identity_add(*, scope: Scope, customer_id: int, identity: IdentityKey) -> Customer:
    scope.require(CONFIGURE, "change customers")
    with transaction.atomic():
        customer = _customer_for_update(scope, customer_id)
        _identity_attach(customer, identity, field="identity")
    return customer


def customer_identity_remove(*, scope: Scope, customer_id: int, identity_id: int) -> None:
    scope.require(CONFIGURE, "change customers")
    with transaction.atomic():
        customer = _customer_for_update(scope, customer_id)
        deleted, _ = customer.identities.filter(pk=identity_id).delete()
        if not deleted:
            raise NotFound("No such identity on this customer.")


def consent_set(*, customer: Customer, channel: str, granted: bool, source: str = "") -> Consent:
    if channel not in Channel.values:
        raise ValidationFailed.on(
            f"consents.{channel}", f"unknown channel (one of {', '.join(Channel.values)})"
        )
    consent, _ = Consent.objects.update_or_create(
        customer=customer,
        channel=channel,
        defaults={
            "granted": granted,
            "source": source,
            "organisation_id": customer.organisation_id,
        },
    )
    return consent


def customer_merge(
    *, scope: Scope, surviving_id: int, merged_id: int, reason: str = ""
) -> CustomerMerge:
    """Fold `merged` into `surviving`: identities and consents move, history stays, audited.

    Every app re-points its own rows (responses, invitations, cases) through the merge hook of its
    personal-data source, so a merge never leaves history behind on the old profile.
    """
    scope.require(CONFIGURE, "merge customers")
    if surviving_id == merged_id:
        raise ValidationFailed.on("merged_id", "a customer cannot be merged into itself")
    with transaction.atomic():
        surviving = _customer_for_update(scope, surviving_id)
        merged = _customer_for_update(scope, merged_id)
        moved = [str(i) for i in CustomerIdentity.objects.filter(customer=merged).order_by("pk")]
        CustomerIdentity.objects.filter(customer=merged).update(customer=surviving)
        surviving_channels = set(surviving.consents.values_list("channel", flat=True))
        # A consent the surviving profile lacks is taken over; a withdrawal always wins.
        for consent in merged.consents.all():
            if consent.channel not in surviving_channels:
                consent_set(
                    customer=surviving,
                    channel=consent.channel,
                    granted=consent.granted,
                    source=f"merge:{merged.pk}",
                )
            elif not consent.granted:
                consent_set(
                    customer=surviving,
                    channel=consent.channel,
                    granted=False,
                    source=f"merge:{merged.pk}",
                )
        surviving.do_not_contact = surviving.do_not_contact or merged.do_not_contact
        surviving.attributes = {**merged.attributes, **surviving.attributes}
        surviving.full_name = surviving.full_name or merged.full_name
        surviving.preferred_language = surviving.preferred_language or merged.preferred_language
        surviving.save(
            update_fields=[
                "do_not_contact",
                "attributes",
                "full_name",
                "preferred_language",
                "updated_at",
            ]
        )
        merged.merged_into = surviving
        merged.save(update_fields=["merged_into", "updated_at"])
        repointed = {
            source.name: source.merge(surviving, merged)
            for source in personal_data_sources()
            if source.merge is not None
        }
        Customer.objects.filter(merged_into=merged).update(merged_into=surviving)
        record = CustomerMerge.objects.create(
            organisation=scope.organisation,
            surviving=surviving,
            merged=merged,
            actor=scope.user,
            reason=reason,
            identities_moved=moved,
        )
        audit_record(
            action="customer.merged",
            organisation=scope.organisation,
            actor=scope.user,
            target=surviving,
            detail={
                "merged": merged.pk,
                "identities_moved": moved,
                "reason": reason,
                "rows_repointed": repointed,
            },
        )
    return record
