"""Writing a demo organisation's spec: bulk inserts, unit paths computed here, fixed timestamps."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models

from sonda.accounts.models import Membership, Organisation, User
from sonda.customers.models import Consent, Customer, CustomerIdentity
from sonda.demo.specs import (
    DEMO_PASSWORD,
    REFERENCE_DATE,
    CustomerSpec,
    MembershipSpec,
    OrganisationSpec,
)
from sonda.org.models import Person, Unit, UnitType

BATCH_SIZE = 2000


@dataclass
class DemoOrganisation:
    """One generated organisation with its rows, for the parts that build on it."""

    organisation: Organisation
    units: dict[str, Unit]
    people: dict[str, Person]
    customer_ids: list[int]


def _stamp(queryset: "models.QuerySet[Any]") -> None:
    """Put the reference date on rows whose timestamps the database layer set to the wall clock."""
    queryset.update(created_at=REFERENCE_DATE, updated_at=REFERENCE_DATE)


def _levels(items: Iterable[Any], key: str, parent: str) -> list[list[Any]]:
    """Group specs by their depth in a parent chain, roots first (parents may come later)."""
    by_key = {getattr(item, key): item for item in items}
    depth: dict[str, int] = {}

    def depth_of(item: Any) -> int:
        code = getattr(item, key)
        if code not in depth:
            above = getattr(item, parent)
            depth[code] = 0 if above is None else depth_of(by_key[above]) + 1
        return depth[code]

    levels: list[list[Any]] = []
    for item in by_key.values():
        level = depth_of(item)
        while len(levels) <= level:
            levels.append([])
        levels[level].append(item)
    return levels


def _write_units(organisation: Organisation, spec: OrganisationSpec) -> dict[str, Unit]:
    types = {
        code: UnitType(organisation=organisation, code=code, name=name)
        for code, name in spec.unit_types.items()
    }
    UnitType.objects.bulk_create(types.values())
    _stamp(UnitType.objects.filter(organisation=organisation))
    units: dict[str, Unit] = {}
    for depth, level in enumerate(_levels(spec.units, "code", "parent")):
        created = Unit.objects.bulk_create(
            [
                Unit(
                    organisation=organisation,
                    code=u.code,
                    name=u.name,
                    unit_type=types[u.unit_type],
                    parent=units[u.parent] if u.parent else None,
                    path="",
                    depth=depth,
                )
                for u in level
            ]
        )
        for unit in created:
            # A subtree is a path prefix: the ancestors' ids and the unit's own, dot-terminated.
            unit.path = f"{unit.parent.path if unit.parent else ''}{unit.pk}."
            units[unit.code] = unit
    Unit.objects.bulk_update(units.values(), ["path"], batch_size=BATCH_SIZE)
    return units


def _write_users(memberships: Sequence[MembershipSpec]) -> dict[str, User]:
    """The demo users, created once however many organisations they belong to."""
    wanted = {m.login: m.full_name for m in memberships}
    existing = {u.email: u for u in User.objects.filter(email__in=wanted)}
    missing = [login for login in wanted if login not in existing]
    if missing:
        # One hash for all: they share the published demo password, and hashing is slow on purpose.
        password = make_password(DEMO_PASSWORD)
        existing.update(
            {
                u.email: u
                for u in User.objects.bulk_create(
                    [
                        User(
                            email=login,
                            full_name=wanted[login],
                            password=password,
                            language="en",
                            date_joined=REFERENCE_DATE,
                        )
                        for login in missing
                    ]
                )
            }
        )
    return existing


def _write_people(
    organisation: Organisation,
    spec: OrganisationSpec,
    units: dict[str, Unit],
    users: dict[str, User],
) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for level in _levels(spec.people, "number", "supervisor"):
        created = Person.objects.bulk_create(
            [
                Person(
                    organisation=organisation,
                    employee_number=p.number,
                    full_name=p.full_name,
                    email=p.email,
                    job_title=p.job_title,
                    unit=units[p.unit],
                    supervisor=people[p.supervisor] if p.supervisor else None,
                    user=users[p.login] if p.login else None,
                )
                for p in level
            ],
            batch_size=BATCH_SIZE,
        )
        people.update({p.employee_number: p for p in created})
    managed = []
    for p in spec.people:
        if p.manages:
            units[p.manages].manager = people[p.number]
            managed.append(units[p.manages])
    Unit.objects.bulk_update(managed, ["manager"], batch_size=BATCH_SIZE)
    _stamp(Unit.objects.filter(organisation=organisation))
    _stamp(Person.objects.filter(organisation=organisation))
    return people


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """A plain multi-row insert: the ORM's per-object work costs more than the database's here."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(c) for c in columns]
    if not all(isinstance(f, models.Field) for f in fields):
        raise TypeError(f"{model.__name__}: only concrete fields can be inserted: {columns}")
    names_ = ", ".join(quote(f.column) for f in fields if isinstance(f, models.Field))
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({names_}) VALUES ({marks})",  # noqa: S608
            rows,
        )


def _write_customers(organisation: Organisation, customers: Sequence[CustomerSpec]) -> list[int]:
    at = connection.ops.adapt_datetimefield_value(REFERENCE_DATE)
    attributes = Customer._meta.get_field("attributes")
    org = organisation.pk
    for start in range(0, len(customers), BATCH_SIZE):
        insert_rows(
            Customer,
            [
                "organisation",
                "created_at",
                "updated_at",
                "full_name",
                "preferred_language",
                "time_zone",
                "attributes",
                "do_not_contact",
            ],
            [
                [
                    org,
                    at,
                    at,
                    c.full_name,
                    c.preferred_language,
                    c.time_zone,
                    attributes.get_db_prep_save(c.attributes, connection),
                    c.do_not_contact,
                ]
                for c in customers[start : start + BATCH_SIZE]
            ],
        )
    # The organisation is new and only this transaction writes to it: ids follow insertion order.
    ids = list(
        Customer.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(customers), BATCH_SIZE):
        batch = list(zip(customers[start : start + BATCH_SIZE], ids[start:], strict=False))
        insert_rows(
            CustomerIdentity,
            ["organisation", "created_at", "updated_at", "customer", "kind", "source", "value"],
            [
                [org, at, at, customer_id, key.kind, key.source, key.value]
                for spec, customer_id in batch
                for key in spec.identities
            ],
        )
        insert_rows(
            Consent,
            [
                "organisation",
                "created_at",
                "updated_at",
                "customer",
                "channel",
                "granted",
                "source",
            ],
            [
                [org, at, at, customer_id, channel, granted, "crm"]
                for spec, customer_id in batch
                for channel, granted in spec.consents
            ],
        )
    return ids


def organisation_write(*, spec: OrganisationSpec) -> DemoOrganisation:
    """Write one organisation's spec with bulk inserts; the caller holds the transaction."""
    organisation = Organisation.objects.create(
        name=spec.name,
        slug=spec.slug,
        default_language=spec.default_language,
        time_zone=spec.time_zone,
    )
    _stamp(Organisation.objects.filter(pk=organisation.pk))
    units = _write_units(organisation, spec)
    users = _write_users(spec.memberships)
    people = _write_people(organisation, spec, units, users)
    Membership.objects.bulk_create(
        [
            Membership(
                organisation=organisation,
                user=users[m.login],
                role=m.role,
                unit=units[m.unit] if m.unit else None,
            )
            for m in spec.memberships
        ]
    )
    _stamp(Membership.objects.filter(organisation=organisation))
    customer_ids = _write_customers(organisation, spec.customers)
    return DemoOrganisation(
        organisation=organisation, units=units, people=people, customer_ids=customer_ids
    )
