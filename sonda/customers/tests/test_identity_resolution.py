import threading
import time

import pytest
from django.db import connection, transaction

from sonda.core.errors import ValidationFailed
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Customer, CustomerIdentity
from sonda.customers.services import customer_resolve, customers_resolve_bulk


def test_phone_numbers_are_stored_in_e164():
    key = identity_normalise(kind="phone", value="0721 234 567", default_region="RO")
    assert key.value == "+40721234567"


def test_emails_are_compared_lower_case():
    key = identity_normalise(kind="email", value="  Ana.Pop@Mail.EXAMPLE ")
    assert key.value == "ana.pop@mail.example"


@pytest.mark.parametrize(
    ("kind", "value", "source", "field"),
    [
        ("email", "not-an-email", "", "email"),
        ("phone", "12", "", "phone"),
        ("external", "C-1", "", "source"),
        ("fax", "1", "", "kind"),
        ("email", "a" * 250 + "@x.io", "", "email"),
    ],
)
def test_bad_identities_name_the_field(kind, value, source, field):
    with pytest.raises(ValidationFailed) as error:
        identity_normalise(kind=kind, value=value, source=source)
    assert error.value.errors[0].field == field


def test_a_known_identity_resolves_to_its_customer(world):
    key = identity_normalise(kind="external", source="crm", value="C-17")
    first, created = customer_resolve(organisation=world.org, identity=key)
    again, created_again = customer_resolve(organisation=world.org, identity=key)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert CustomerIdentity.objects.filter(organisation=world.org).count() == 1


def test_the_same_identity_in_another_organisation_is_another_customer(world):
    key = identity_normalise(kind="email", value="ana@mail.example")
    ours, _ = customer_resolve(organisation=world.org, identity=key)
    theirs, created = customer_resolve(organisation=world.other_org, identity=key)
    assert created
    assert theirs.pk != ours.pk


def test_bulk_resolution_keeps_order_and_creates_each_new_identity_once(world):
    known = identity_normalise(kind="email", value="known@mail.example")
    known_customer, _ = customer_resolve(organisation=world.org, identity=known)
    new = identity_normalise(kind="email", value="new@mail.example")
    ids = customers_resolve_bulk(organisation=world.org, identities=[new, known, new])
    assert ids[1] == known_customer.pk
    assert ids[0] == ids[2]
    assert Customer.objects.filter(organisation=world.org).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_resolving_the_same_new_identity_create_one_customer(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    # Several rounds, each with a fresh identity, so the race is really run more than once.
    for round_number in range(5):
        key = identity_normalise(kind="phone", value=f"+4860123456{round_number}")
        barrier = threading.Barrier(2)
        results: list[int] = []

        def resolve(key=key, barrier=barrier, results=results) -> None:
            barrier.wait()
            try:
                customer, _ = customer_resolve(organisation=world.org, identity=key)
                results.append(customer.pk)
            finally:
                connection.close()

        threads = [threading.Thread(target=resolve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2
        assert results[0] == results[1]
    assert Customer.objects.filter(organisation=world.org).count() == 5
    assert CustomerIdentity.objects.filter(organisation=world.org).count() == 5


def test_bulk_resolution_creates_empty_profiles_of_the_organisation_for_new_identities(world):
    keys = [identity_normalise(kind="email", value=f"new{n}@mail.example") for n in range(5)]
    ids = customers_resolve_bulk(organisation=world.org, identities=keys, batch_size=2)
    created = Customer.objects.filter(pk__in=ids)
    assert created.count() == 5
    assert [(c.organisation_id, c.full_name, c.attributes, c.do_not_contact) for c in created] == [
        (world.org.pk, "", {}, False)
    ] * 5
    owners = dict(
        CustomerIdentity.objects.filter(organisation=world.org).values_list("value", "customer_id")
    )
    assert [owners[key.value] for key in keys] == ids


def test_bulk_resolution_of_a_merged_profile_s_identity_gives_the_surviving_profile(world):
    old = identity_normalise(kind="external", source="crm", value="C-1")
    merged, _ = customer_resolve(organisation=world.org, identity=old)
    surviving, _ = customer_resolve(
        organisation=world.org, identity=identity_normalise(kind="email", value="ana@mail.example")
    )
    # A merge elsewhere left the identity on the old profile, pointing to the surviving one.
    Customer.objects.filter(pk=merged.pk).update(merged_into=surviving)
    assert customers_resolve_bulk(organisation=world.org, identities=[old]) == [surviving.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_resolution_racing_a_writer_takes_the_winner_s_customer_and_leaves_no_orphan(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    contested = identity_normalise(kind="phone", value="+48601234567")
    fresh = identity_normalise(kind="phone", value="+48601234568")
    held = threading.Event()
    winner: list[int] = []

    def write_first() -> None:
        # Holds the contested identity uncommitted while the bulk resolution runs into it.
        try:
            with transaction.atomic():
                customer, _ = customer_resolve(organisation=world.org, identity=contested)
                winner.append(customer.pk)
                held.set()
                time.sleep(0.5)
        finally:
            connection.close()

    writer = threading.Thread(target=write_first)
    writer.start()
    held.wait(5)
    try:
        ids = customers_resolve_bulk(organisation=world.org, identities=[contested, fresh])
    finally:
        writer.join()
    assert ids[0] == winner[0]
    assert ids[1] not in winner
    assert Customer.objects.filter(organisation=world.org).count() == 2
    assert not Customer.objects.filter(organisation=world.org, identities__isnull=True).exists()
