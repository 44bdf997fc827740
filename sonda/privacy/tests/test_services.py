import json

import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Consent, Customer, CustomerIdentity
from sonda.customers.services import customer_create, customer_merge
from sonda.privacy.registry import PersonalDataSource, register, sources, unregister
from sonda.privacy.services import customer_data_export, customer_erase, customer_erase_by_id
from sonda.privacy.tests.conftest import ANA_CRM, ANA_EMAIL, ANA_PHONE


def identities_of(customer: Customer) -> list[str]:
    return sorted(str(i) for i in CustomerIdentity.objects.filter(customer=customer))


def test_the_export_holds_the_profile_identities_and_consents(world, ana):
    document = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert document["customer_id"] == ana.pk
    assert document["organisation"] == {"name": "Banca Demo", "slug": "banca"}
    profile = document["customers"]
    assert profile["full_name"] == "Ana Popescu"
    assert profile["attributes"] == {"tier": "affluent", "products": ["card", "mortgage"]}
    assert profile["identities"] == [
        {"kind": "email", "source": "", "value": ANA_EMAIL},
        {"kind": "external", "source": "crm", "value": ANA_CRM},
        {"kind": "phone", "source": "", "value": ANA_PHONE},
    ]
    assert [(c["channel"], c["granted"]) for c in profile["consents"]] == [
        ("email", True),
        ("sms", False),
    ]
    assert set(document) == {"customer_id", "exported_at", "organisation"} | {
        s.name for s in sources()
    }
    json.dumps(document)  # ready to be written as a file


def test_the_export_is_audited_with_who_and_whom(world, ana):
    customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk, ip_address="10.0.0.7")
    event = AuditEvent.objects.get(action="customer.exported")
    assert (event.organisation, event.actor, event.target_type, event.target_id) == (
        world.org,
        world.admin,
        "customer",
        str(ana.pk),
    )
    assert event.detail == {"customer_id": ana.pk, "sources": [s.name for s in sources()]}
    assert event.ip_address == "10.0.0.7"


def test_the_registry_is_walked_so_every_app_s_data_is_exported_and_erased(world, ana, answers):
    answers.held[ana.pk] = ["The teller was very kind", "Mortgage took too long"]
    document = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert document["answers"] == ["The teller was very kind", "Mortgage took too long"]
    result = customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    assert result.rows == {"customers": 6, "surveys": 0, "listening": 0, "loop": 0, "answers": 2}
    assert answers.held == {}


def test_erasure_removes_identities_consents_and_profile_and_keeps_an_anonymous_row(world, ana):
    result = customer_erase(
        scope=world.scope(world.admin), kind="phone", value=ANA_PHONE, ip_address="10.0.0.7"
    )
    customer = Customer.objects.get(pk=ana.pk)
    assert result.customer_id == ana.pk
    assert result.erased_at == customer.erased_at
    # Three identities and two consents deleted, one profile emptied.
    assert result.rows == {"customers": 6, "surveys": 0, "listening": 0, "loop": 0}
    assert CustomerIdentity.objects.filter(customer=customer).count() == 0
    assert Consent.objects.filter(customer=customer).count() == 0
    assert (customer.full_name, customer.time_zone, customer.attributes) == ("", "", {})
    assert customer.do_not_contact is True
    # Kept for statistics: the language an answer was given in says nothing about who gave it.
    assert customer.preferred_language == "ro"


def test_the_erasure_is_audited_without_the_identifiers(world, ana):
    customer_erase(scope=world.scope(world.admin), kind="external", source="crm", value=ANA_CRM)
    event = AuditEvent.objects.get(action="customer.erased")
    assert (event.organisation, event.actor, event.target_id) == (
        world.org,
        world.admin,
        str(ana.pk),
    )
    assert event.detail == {
        "customer_id": ana.pk,
        "rows": {"customers": 6, "surveys": 0, "listening": 0, "loop": 0},
    }
    recorded = json.dumps([event.detail, event.target_type, event.target_id])
    for identifier in (ANA_EMAIL, ANA_PHONE, ANA_CRM, "Ana", "Popescu"):
        assert identifier not in recorded


def test_any_form_of_an_identity_finds_the_customer(world, ana):
    result = customer_erase(
        scope=world.scope(world.admin), kind="email", value=" Ana.Popescu@MAIL.example "
    )
    assert result.customer_id == ana.pk


def test_erasing_twice_finds_nothing_the_second_time(world, ana):
    customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    with pytest.raises(NotFound):
        customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    with pytest.raises(NotFound):
        customer_erase_by_id(scope=world.scope(world.admin), customer_id=ana.pk)
    with pytest.raises(NotFound):
        customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


def test_a_merged_profile_is_erased_with_the_profile_it_was_merged_into(world, ana):
    analyst = world.scope(world.analyst)
    duplicate = customer_create(
        scope=analyst,
        identities=[identity_normalise(kind="email", value="ana.p@work.example")],
        full_name="A. Popescu",
    )
    customer_merge(scope=analyst, surviving_id=ana.pk, merged_id=duplicate.pk, reason="same")
    # The old profile's number leads to the person, wherever their data now lives.
    result = customer_erase_by_id(scope=world.scope(world.admin), customer_id=duplicate.pk)
    assert result.customer_id == ana.pk
    survivor, merged = Customer.objects.get(pk=ana.pk), Customer.objects.get(pk=duplicate.pk)
    assert survivor.erased_at == merged.erased_at == result.erased_at
    assert (survivor.full_name, merged.full_name) == ("", "")
    assert identities_of(survivor) == []


@pytest.mark.parametrize("role", ["analyst", "executive", "manager_north", "frontline"])
def test_only_administrators_export_or_erase(world, ana, role):
    scope = world.scope(world.users_by_role[role])
    with pytest.raises(PermissionDenied):
        customer_data_export(scope=scope, customer_id=ana.pk)
    with pytest.raises(PermissionDenied):
        customer_erase(scope=scope, kind="email", value=ANA_EMAIL)
    with pytest.raises(PermissionDenied):
        customer_erase_by_id(scope=scope, customer_id=ana.pk)
    assert Customer.objects.get(pk=ana.pk).erased_at is None
    assert len(identities_of(ana)) == 3
    assert not AuditEvent.objects.filter(action__startswith="customer.").exists()


def test_another_organisation_s_customer_is_not_found(world, ana):
    outsider = world.scope(world.outsider, world.other_org)
    with pytest.raises(NotFound):
        customer_data_export(scope=outsider, customer_id=ana.pk)
    with pytest.raises(NotFound):
        customer_erase(scope=outsider, kind="email", value=ANA_EMAIL)
    with pytest.raises(NotFound):
        customer_erase_by_id(scope=outsider, customer_id=ana.pk)
    assert Customer.objects.get(pk=ana.pk).full_name == "Ana Popescu"
    assert len(identities_of(ana)) == 3
    assert not AuditEvent.objects.filter(action__startswith="customer.").exists()


@pytest.mark.parametrize(
    ("kind", "value", "source", "field"),
    [
        ("fax", "123", "", "kind"),
        ("email", "not-an-email", "", "value"),
        ("phone", "0721 234", "", "value"),
        ("external", "C-17", "", "source"),
        ("email", "x" * 250 + "@mail.example", "", "value"),
    ],
)
def test_a_malformed_identity_names_the_field_and_erases_nothing(
    world, ana, kind, value, source, field
):
    with pytest.raises(ValidationFailed) as error:
        customer_erase(scope=world.scope(world.admin), kind=kind, value=value, source=source)
    assert [e.field for e in error.value.errors] == [field]
    assert len(identities_of(ana)) == 3
    assert not AuditEvent.objects.filter(action="customer.erased").exists()


def test_a_failing_source_leaves_everything_as_it_was(world, ana):
    def broken(customer: Customer) -> int:
        raise RuntimeError("the answers store is down")

    register(PersonalDataSource(name="broken", export=lambda c: None, erase=broken))
    try:
        with pytest.raises(RuntimeError):
            customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    finally:
        unregister("broken")
    customer = Customer.objects.get(pk=ana.pk)
    assert (customer.full_name, customer.erased_at) == ("Ana Popescu", None)
    assert len(identities_of(customer)) == 3
    assert Consent.objects.filter(customer=customer).count() == 2
    assert not AuditEvent.objects.filter(action="customer.erased").exists()
