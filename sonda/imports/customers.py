"""Importing customers: identities, profile, consent and segment attributes, in batches.

Columns (any order, all optional but at least one identity column):
- identities: `email`, `phone` (E.164, or a national number of the import's region) and
  `external:<source>` (`external:crm`, `external:billing` ...); every row needs at least one;
- `full_name`, `preferred_language`, `do_not_contact` (yes/no/true/false/1/0);
- `consent:email`, `consent:sms`, `consent:phone` (yes/no ...);
- `attr:<name>`: segment attributes (`attr:tier`, `attr:region` ...), merged into the profile's.

A row is the customer who already holds any of its identities, or a new customer. The row's
identities that are new are added to that customer. An empty cell leaves the field as it is, so
the same file imported twice changes nothing the second time.

Row errors: an identity that cannot be one, an identity on two rows, identities of one row that
belong to two different customers, two rows that are the same customer.

Customers are written in bulk (a few queries per thousand rows) rather than one by one through
`sonda.customers.services`: an import of 20,000 customers must take seconds. The rules stay those
of the services: the same language codes, attribute size limit and identity normalisation.
"""

from dataclasses import dataclass, field

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import Conflict, ValidationFailed
from sonda.customers.identities import SOURCE_RE, IdentityKey, identity_normalise
from sonda.customers.models import Channel, Consent, Customer, CustomerIdentity
from sonda.customers.selectors import customer_list
from sonda.customers.services import LANGUAGE_CODES, MAX_ATTRIBUTES_BYTES
from sonda.imports.csvfile import (
    HEADER_ROW,
    CsvRow,
    ImportResult,
    RowErrorList,
    chunks,
    read_table,
    text_value,
    yes_no_value,
)
from sonda.imports.selectors import customer_owners_by_identity

DEFAULT_REGION = "RO"
IDENTITY_COLUMNS = ("email", "phone")
PROFILE_COLUMNS = ("full_name", "preferred_language", "do_not_contact")
EXTERNAL, CONSENT, ATTRIBUTE = "external:", "consent:", "attr:"
CONSENT_SOURCE = "import"
BATCH = 500


@dataclass(eq=False)
class PlannedCustomer:
    row: int
    identities: list[tuple[str, IdentityKey]]  # (column, identity)
    full_name: str | None = None  # None: leave as it is
    preferred_language: str | None = None
    do_not_contact: bool | None = None
    consents: dict[str, bool] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    customer: Customer | None = None  # the customer the row is (existing, or created)
    is_new: bool = False


def customers_import(
    *, scope: Scope, text: str, region: str | None = None, dry_run: bool = False
) -> ImportResult:
    """Create or update the customers of a CSV file: all rows or none (RowErrors lists why).

    `region` is the country (ISO 3166 code, default RO) of phone numbers written without +code.
    """
    scope.require(CONFIGURE, "import customers")
    region = phone_region(region)
    table = read_table(
        text,
        required=(),
        optional=(*IDENTITY_COLUMNS, *PROFILE_COLUMNS),
        prefixes=(EXTERNAL, CONSENT, ATTRIBUTE),
    )
    identity_columns = _check_header(table.columns)
    attribute_columns = [c for c in table.columns if c.startswith(ATTRIBUTE)]
    errors = RowErrorList()

    plans: list[PlannedCustomer] = []
    identity_rows: dict[IdentityKey, int] = {}
    for row in table.rows:
        plan = _plan(row, identity_columns, attribute_columns, region, identity_rows, errors)
        if plan is not None:
            plans.append(plan)

    owners = customer_owners_by_identity(
        scope=scope, keys=[key for plan in plans for _, key in plan.identities]
    )
    customers = _live_customers(scope, set(owners.values()))
    customer_rows: dict[int, int] = {}
    for plan in plans:
        _match(plan, owners, customers, customer_rows, errors)
        current = plan.customer.attributes if plan.customer is not None else {}
        if plan.attributes and len(repr({**current, **plan.attributes})) > MAX_ATTRIBUTES_BYTES:
            errors.add(plan.row, attribute_columns[0], "segment attributes too large (16 KB)")
    errors.raise_if_any()

    created, updated = _write(scope, plans, owners, dry_run=dry_run)
    return ImportResult(
        kind="customers",
        rows=len(plans),
        created=created,
        updated=updated,
        unchanged=len(plans) - created - updated,
        dry_run=dry_run,
    )


def phone_region(region: str | None) -> str:
    """The region code national phone numbers are read in; ValidationFailed for an unknown one."""
    code = (region or DEFAULT_REGION).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed.on("region", f"'{region}' is not a country code such as RO or PL")
    return code


def _check_header(columns: tuple[str, ...]) -> list[str]:
    """The identity columns; RowErrors for prefixed columns that name nothing Sonda knows."""
    errors = RowErrorList()
    for column in columns:
        if column.startswith(EXTERNAL) and not SOURCE_RE.match(column.removeprefix(EXTERNAL)):
            errors.add(
                HEADER_ROW,
                column,
                "name the source system in lower-case letters, digits, - or _ (external:crm)",
            )
        elif column.startswith(CONSENT) and column.removeprefix(CONSENT) not in Channel.values:
            errors.add(
                HEADER_ROW,
                column,
                f"unknown channel (one of {', '.join(CONSENT + c for c in Channel.values)})",
            )
        elif column.startswith(ATTRIBUTE) and not column.removeprefix(ATTRIBUTE):
            errors.add(HEADER_ROW, column, "name the attribute (attr:tier)")
    identity_columns = [c for c in columns if c in IDENTITY_COLUMNS or c.startswith(EXTERNAL)]
    if not identity_columns:
        errors.add(
            HEADER_ROW,
            "email",
            "the file needs an identity column: email, phone or external:<source>",
        )
    errors.raise_if_any()
    return identity_columns


def _plan(
    row: CsvRow,
    identity_columns: list[str],
    attribute_columns: list[str],
    region: str,
    identity_rows: dict[IdentityKey, int],
    errors: RowErrorList,
) -> PlannedCustomer | None:
    """What the row asks for, or None when it has errors (recorded in `errors`)."""
    before = len(errors.errors)
    identities: list[tuple[str, IdentityKey]] = []
    rejected = False  # an identity was given but is wrong: that error says enough
    for column in identity_columns:
        value = row.get(column)
        if not value:
            continue
        kind, source = (
            ("external", column.removeprefix(EXTERNAL))
            if column.startswith(EXTERNAL)
            else (column, "")
        )
        try:
            key = identity_normalise(
                kind=kind, value=value, source=source, default_region=region, field=column
            )
        except ValidationFailed as exc:
            errors.add(row.number, column, exc.errors[0].message if exc.errors else exc.detail)
            rejected = True
            continue
        if key in identity_rows:
            errors.add(row.number, column, f"{key.value} is also on row {identity_rows[key]}")
            rejected = True
            continue
        identity_rows[key] = row.number
        identities.append((column, key))
    if not identities and not rejected:
        errors.add(
            row.number,
            identity_columns[0],
            "every customer needs an identity (email, phone or external id)",
        )
    plan = PlannedCustomer(row=row.number, identities=identities)
    plan.full_name = text_value(row, "full_name", errors, max_length=200) or None
    language = row.get("preferred_language").lower()
    if language and language not in LANGUAGE_CODES:
        errors.add(
            row.number,
            "preferred_language",
            f"'{language}' is not a supported language ({', '.join(sorted(LANGUAGE_CODES))})",
        )
    plan.preferred_language = language or None
    plan.do_not_contact = yes_no_value(row, "do_not_contact", errors)
    for channel in Channel.values:
        granted = yes_no_value(row, CONSENT + channel, errors)
        if granted is not None:
            plan.consents[channel] = granted
    for column in attribute_columns:
        attribute = text_value(row, column, errors, max_length=1000)
        if attribute:
            plan.attributes[column.removeprefix(ATTRIBUTE)] = attribute
    return plan if len(errors.errors) == before else None


def _live_customers(scope: Scope, ids: set[int]) -> dict[int, Customer]:
    customers: dict[int, Customer] = {}
    wanted = sorted(ids)
    for batch in chunks(wanted):
        for customer in (
            customer_list(scope=scope)
            .prefetch_related(None)
            .prefetch_related("consents")
            .filter(pk__in=batch)
        ):
            customers[customer.pk] = customer
    return customers


def _match(
    plan: PlannedCustomer,
    owners: dict[IdentityKey, int],
    customers: dict[int, Customer],
    customer_rows: dict[int, int],
    errors: RowErrorList,
) -> None:
    """Find the existing customer the row is; two different owners is a row error."""
    first: tuple[str, IdentityKey, int] | None = None
    for column, key in plan.identities:
        owner = owners.get(key)
        if owner is None:
            continue
        if first is None:
            first = (column, key, owner)
        elif owner != first[2]:
            errors.add(
                plan.row,
                column,
                f"{key.value} belongs to customer {owner}, but {first[0]} {first[1].value} "
                f"belongs to customer {first[2]}",
            )
            return
    if first is None:
        return
    column, key, owner = first
    customer = customers.get(owner)
    if customer is None:
        errors.add(plan.row, column, f"{key.value} belongs to an erased customer profile")
        return
    if owner in customer_rows:
        errors.add(
            plan.row,
            column,
            f"{key.value} is customer {owner}, who is already on row {customer_rows[owner]}",
        )
        return
    customer_rows[owner] = plan.row
    plan.customer = customer


def _write(
    scope: Scope, plans: list[PlannedCustomer], owners: dict[IdentityKey, int], *, dry_run: bool
) -> tuple[int, int]:
    """Write the plans in bulk; (created, updated)."""
    organisation = scope.organisation
    now = timezone.now()
    new_plans = [plan for plan in plans if plan.customer is None]
    identities: list[CustomerIdentity] = []
    consents_new: list[Consent] = []
    consents_changed: list[Consent] = []
    customers_changed: list[Customer] = []
    updated = 0
    try:
        with transaction.atomic():
            for batch in chunks(new_plans, BATCH):
                created = Customer.objects.bulk_create(
                    [
                        Customer(
                            organisation=organisation,
                            full_name=plan.full_name or "",
                            preferred_language=plan.preferred_language or "",
                            attributes=plan.attributes,
                            do_not_contact=bool(plan.do_not_contact),
                        )
                        for plan in batch
                    ]
                )
                for plan, new_customer in zip(batch, created, strict=True):
                    plan.customer = new_customer
                    plan.is_new = True
            for plan in plans:
                customer = plan.customer
                assert customer is not None
                is_new = plan.is_new
                changed = is_new
                for _, key in plan.identities:
                    if owners.get(key) != customer.pk:
                        identities.append(_identity(customer, key))
                        changed = True
                existing_consents = (
                    {} if is_new else {c.channel: c for c in customer.consents.all()}
                )
                for channel, granted in plan.consents.items():
                    consent = existing_consents.get(channel)
                    if consent is None:
                        consents_new.append(
                            Consent(
                                organisation=organisation,
                                customer=customer,
                                channel=channel,
                                granted=granted,
                                source=CONSENT_SOURCE,
                            )
                        )
                        changed = True
                    elif consent.granted != granted:
                        consent.granted = granted
                        consent.source = CONSENT_SOURCE
                        consent.updated_at = now
                        consents_changed.append(consent)
                        changed = True
                if not is_new and _apply_profile(customer, plan):
                    customer.updated_at = now
                    customers_changed.append(customer)
                    changed = True
                if changed and not is_new:
                    updated += 1
            CustomerIdentity.objects.bulk_create(identities, batch_size=BATCH)
            Customer.objects.bulk_update(
                customers_changed,
                ["full_name", "preferred_language", "do_not_contact", "attributes", "updated_at"],
                batch_size=BATCH,
            )
            Consent.objects.bulk_create(consents_new, batch_size=BATCH)
            Consent.objects.bulk_update(
                consents_changed, ["granted", "source", "updated_at"], batch_size=BATCH
            )
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        # Another request gave one of these identities to a customer since the file was checked.
        raise Conflict.on(
            "file", "customers changed while the file was imported; import it again"
        ) from exc
    return len(new_plans), updated


def _identity(customer: Customer, key: IdentityKey) -> CustomerIdentity:
    return CustomerIdentity(
        organisation_id=customer.organisation_id,
        customer=customer,
        kind=key.kind,
        source=key.source,
        value=key.value,
    )


def _apply_profile(customer: Customer, plan: PlannedCustomer) -> bool:
    """Set the row's profile values on `customer`; whether anything changed."""
    changed = False
    for name, value in (
        ("full_name", plan.full_name),
        ("preferred_language", plan.preferred_language),
        ("do_not_contact", plan.do_not_contact),
    ):
        if value is not None and getattr(customer, name) != value:
            setattr(customer, name, value)
            changed = True
    attributes = {**customer.attributes, **plan.attributes}
    if attributes != customer.attributes:
        customer.attributes = attributes
        changed = True
    return changed
