import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from sonda.customers import selectors, services
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Consent, Customer, CustomerIdentity, CustomerMerge


def email(value):
    return identity_normalise(kind="email", value=value)


def crm(value):
    return identity_normalise(kind="external", source="crm", value=value)


def test_a_customer_is_created_with_identities_and_consents(world):
    customer = services.customer_create(
        scope=world.scope(world.analyst),
        identities=[email("ana@mail.example"), crm("C-1")],
        full_name="Ana Pop",
        preferred_language="ro",
        attributes={"tier": "affluent", "products": ["card", "mortgage"]},
        consents={"email": True, "sms": False},
    )
    assert {str(i) for i in customer.identities.all()} == {
        "email:ana@mail.example",
        "external:crm:C-1",
    }
    assert dict(customer.consents.values_list("channel", "granted")) == {
        "email": True,
        "sms": False,
    }


def test_a_known_identity_cannot_be_given_to_a_second_customer(world):
    scope = world.scope(world.analyst)
    first = services.customer_create(scope=scope, identities=[email("ana@mail.example")])
    with pytest.raises(Conflict) as error:
        services.customer_create(
            scope=scope, identities=[crm("C-9"), email("ANA@mail.example")], full_name="Dup"
        )
    assert error.value.errors[0].field == "identities[1]"
    assert str(first.pk) in error.value.detail
    # Nothing of the failed create remains: no second profile, no orphan identity.
    assert Customer.objects.filter(organisation=world.org).count() == 1
    assert not CustomerIdentity.objects.filter(value="C-9").exists()


def test_an_unknown_language_names_the_field(world):
    with pytest.raises(ValidationFailed) as error:
        services.customer_create(
            scope=world.scope(world.analyst), identities=[crm("C-1")], preferred_language="xx"
        )
    assert error.value.errors[0].field == "preferred_language"
    assert not Customer.objects.exists()


def test_an_unknown_consent_channel_names_the_field(world):
    with pytest.raises(ValidationFailed) as error:
        services.customer_create(
            scope=world.scope(world.analyst), identities=[crm("C-1")], consents={"pigeon": True}
        )
    assert error.value.errors[0].field == "consents.pigeon"
    assert not Customer.objects.exists()


def test_customers_are_found_by_any_identity_or_name(world):
    scope = world.scope(world.analyst)
    ana = services.customer_create(
        scope=scope,
        identities=[
            email("ana@mail.example"),
            identity_normalise(kind="phone", value="+40721234567"),
            crm("C-1"),
        ],
        full_name="Ana Pop",
    )
    services.customer_create(scope=scope, identities=[crm("C-2")], full_name="Ion Ionescu")
    for query in ["ANA@mail.example", "0721 234 567", "+40 721 234 567", "C-1", "pop"]:
        found = list(selectors.customer_list(scope=scope, search=query))
        assert found == [ana], query


def test_managers_and_frontline_do_not_read_customer_profiles(world):
    customer = services.customer_create(scope=world.scope(world.analyst), identities=[crm("C-1")])
    for user in (world.manager_north, world.frontline):
        with pytest.raises(PermissionDenied):
            selectors.customer_list(scope=world.scope(user))
        with pytest.raises(NotFound):
            selectors.customer_get(scope=world.scope(user), customer_id=customer.pk)


def test_another_organisation_cannot_see_our_customers(world):
    customer = services.customer_create(scope=world.scope(world.analyst), identities=[crm("C-1")])
    outsider = world.scope(world.outsider, world.other_org)
    with pytest.raises(NotFound):
        selectors.customer_get(scope=outsider, customer_id=customer.pk)
    with pytest.raises(NotFound):
        selectors.customer_lookup(scope=outsider, identity=crm("C-1"))
    assert list(selectors.customer_list(scope=outsider, search="C-1")) == []


def test_merging_moves_identities_keeps_history_and_is_audited(world):
    scope = world.scope(world.analyst)
    ana = services.customer_create(
        scope=scope,
        identities=[email("ana@mail.example")],
        full_name="Ana Pop",
        consents={"email": True, "sms": True},
    )
    dup = services.customer_create(
        scope=scope,
        identities=[crm("C-1")],
        attributes={"tier": "private"},
        consents={"sms": False, "phone": True},
    )
    services.customer_merge(
        scope=scope, surviving_id=ana.pk, merged_id=dup.pk, reason="same person"
    )
    ana.refresh_from_db()
    dup.refresh_from_db()
    assert dup.merged_into_id == ana.pk
    assert set(ana.identities.values_list("value", flat=True)) == {"ana@mail.example", "C-1"}
    assert ana.attributes == {"tier": "private"}
    # A withdrawal on either profile wins; a consent only the merged profile had is kept.
    assert dict(Consent.objects.filter(customer=ana).values_list("channel", "granted")) == {
        "email": True,
        "sms": False,
        "phone": True,
    }
    merge = CustomerMerge.objects.get()
    assert merge.identities_moved == ["external:crm:C-1"]
    assert AuditEvent.objects.filter(action="customer.merged", target_id=str(ana.pk)).exists()
    # The merged profile now resolves to the surviving one.
    assert selectors.customer_lookup(scope=scope, identity=crm("C-1")).pk == ana.pk
    assert list(selectors.customer_list(scope=scope)) == [ana]


def test_a_customer_cannot_be_merged_into_itself_or_twice(world):
    scope = world.scope(world.analyst)
    ana = services.customer_create(scope=scope, identities=[crm("C-1")])
    dup = services.customer_create(scope=scope, identities=[crm("C-2")])
    with pytest.raises(ValidationFailed):
        services.customer_merge(scope=scope, surviving_id=ana.pk, merged_id=ana.pk)
    services.customer_merge(scope=scope, surviving_id=ana.pk, merged_id=dup.pk)
    with pytest.raises(Conflict):
        services.customer_merge(scope=scope, surviving_id=ana.pk, merged_id=dup.pk)
    assert CustomerMerge.objects.count() == 1


def test_an_executive_reads_but_does_not_merge(world):
    scope = world.scope(world.analyst)
    ana = services.customer_create(scope=scope, identities=[crm("C-1")])
    dup = services.customer_create(scope=scope, identities=[crm("C-2")])
    with pytest.raises(PermissionDenied):
        services.customer_merge(
            scope=world.scope(world.executive), surviving_id=ana.pk, merged_id=dup.pk
        )
    assert Customer.objects.get(pk=dup.pk).merged_into_id is None
