import pytest

from sonda.core.errors import PermissionDenied, RowErrors, ValidationFailed
from sonda.customers.models import Consent, Customer, CustomerIdentity
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.imports.customers import customers_import
from sonda.imports.tests.helpers import csv_file, problems

HEADER = (
    "email,phone,external:crm,full_name,preferred_language,do_not_contact,"
    "consent:email,consent:sms,attr:tier,attr:region"
)
CUSTOMERS = csv_file(
    HEADER,
    "Ana.Pop@Mail.example,0721 234 567,C-1,Ana Pop,ro,no,yes,no,gold,Bucharest",
    ",+48 512 345 678,C-2,Jan Kowalski,PL,,yes,,silver,",
    ",,C-3,,,yes,,,,",
)


def snapshot(org):
    """Everything an import may change, comparable before and after."""
    customers = {
        c.pk: (c.full_name, c.preferred_language, c.do_not_contact, c.attributes)
        for c in Customer.objects.filter(organisation=org)
    }
    identities = set(
        CustomerIdentity.objects.filter(organisation=org).values_list(
            "customer_id", "kind", "source", "value"
        )
    )
    consents = set(
        Consent.objects.filter(organisation=org).values_list("customer_id", "channel", "granted")
    )
    return customers, identities, consents


def identities_of(customer):
    return sorted(str(i) for i in customer.identities.all())


def consents_of(customer):
    return {c.channel: c.granted for c in customer.consents.all()}


def test_a_file_creates_customers_with_identities_profile_consents_and_attributes(world):
    result = customers_import(scope=world.scope(world.analyst), text=CUSTOMERS)

    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    ana = CustomerIdentity.objects.get(value="ana.pop@mail.example").customer
    assert identities_of(ana) == [
        "email:ana.pop@mail.example",
        "external:crm:C-1",
        "phone:+40721234567",
    ]
    assert (ana.full_name, ana.preferred_language, ana.do_not_contact) == ("Ana Pop", "ro", False)
    assert ana.attributes == {"tier": "gold", "region": "Bucharest"}
    assert consents_of(ana) == {"email": True, "sms": False}
    jan = CustomerIdentity.objects.get(value="C-2").customer
    assert identities_of(jan) == ["external:crm:C-2", "phone:+48512345678"]
    assert (jan.preferred_language, jan.attributes, consents_of(jan)) == (
        "pl",
        {"tier": "silver"},
        {"email": True},
    )
    anonymous = CustomerIdentity.objects.get(value="C-3").customer
    assert (anonymous.full_name, anonymous.do_not_contact, anonymous.attributes) == ("", True, {})


def test_the_same_file_twice_gives_the_same_customers(world):
    scope = world.scope(world.analyst)
    customers_import(scope=scope, text=CUSTOMERS)
    before = snapshot(world.org)

    again = customers_import(scope=scope, text=CUSTOMERS)

    assert (again.rows, again.created, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert snapshot(world.org) == before


def test_a_row_updates_the_customer_holding_any_of_its_identities(world):
    known = CustomerFactory(
        organisation=world.org,
        full_name="A. Pop",
        attributes={"segment": "retail", "tier": "basic"},
    )
    CustomerIdentityFactory(customer=known, kind="email", value="ana.pop@mail.example")
    Consent.objects.create(
        organisation=world.org, customer=known, channel="sms", granted=True, source="branch"
    )

    result = customers_import(scope=world.scope(world.analyst), text=CUSTOMERS)

    assert (result.created, result.updated) == (2, 1)
    known.refresh_from_db()
    assert identities_of(known) == [
        "email:ana.pop@mail.example",
        "external:crm:C-1",
        "phone:+40721234567",
    ]
    assert known.full_name == "Ana Pop"
    assert known.attributes == {"segment": "retail", "tier": "gold", "region": "Bucharest"}
    assert consents_of(known) == {"email": True, "sms": False}
    assert Consent.objects.get(customer=known, channel="sms").source == "import"


def test_empty_cells_leave_what_is_known_as_it_is(world):
    known = CustomerFactory(organisation=world.org, full_name="Ana Pop", preferred_language="ro")
    CustomerIdentityFactory(customer=known, kind="external", source="crm", value="C-1")
    result = customers_import(
        scope=world.scope(world.analyst),
        text=csv_file("external:crm,full_name,preferred_language,attr:tier", "C-1,,,"),
    )
    assert (result.updated, result.unchanged) == (0, 1)
    known.refresh_from_db()
    assert (known.full_name, known.preferred_language, known.attributes) == ("Ana Pop", "ro", {})


def test_identities_of_one_row_owned_by_two_customers_are_a_row_error(world):
    first = CustomerFactory(organisation=world.org)
    CustomerIdentityFactory(customer=first, kind="email", value="ana.pop@mail.example")
    second = CustomerFactory(organisation=world.org)
    CustomerIdentityFactory(customer=second, kind="phone", value="+40721234567")
    before = snapshot(world.org)

    with pytest.raises(RowErrors) as error:
        customers_import(scope=world.scope(world.analyst), text=CUSTOMERS)

    assert problems(error.value) == [
        (
            2,
            "phone",
            (
                f"+40721234567 belongs to customer {second.pk}, but email ana.pop@mail.example "
                f"belongs to customer {first.pk}"
            ),
        )
    ]
    assert snapshot(world.org) == before


def test_broken_rows_are_reported_by_row_and_column_and_nothing_is_written(world):
    known = CustomerFactory(organisation=world.org)
    CustomerIdentityFactory(customer=known, kind="email", value="known@mail.example")
    before = snapshot(world.org)
    broken = csv_file(
        "email,phone,external:billing,preferred_language,do_not_contact,consent:sms",
        "fine@mail.example,,,,,",
        "not-an-email,,,,,",
        ",12,,,,",
        ",,,en,,",
        "fine@mail.example,,,,,",
        ",,B-1,xx,maybe,sometimes",
        "known@mail.example,,B-2,,,",
        "KNOWN@mail.example,,B-2,,,",
    )

    with pytest.raises(RowErrors) as error:
        customers_import(scope=world.scope(world.analyst), text=broken)

    not_yes_or_no = "is not yes or no (yes/no/true/false/1/0)"
    assert problems(error.value) == [
        (3, "email", "'not-an-email' is not an email address"),
        (4, "phone", "'12' is not a valid phone number"),
        (5, "email", "every customer needs an identity (email, phone or external id)"),
        (6, "email", "fine@mail.example is also on row 2"),
        (
            7,
            "preferred_language",
            "'xx' is not a supported language (bg, cs, de, en, es, fr, hu, it, pl, ro, sk, uk)",
        ),
        (7, "do_not_contact", f"'maybe' {not_yes_or_no}"),
        (7, "consent:sms", f"'sometimes' {not_yes_or_no}"),
        (9, "email", "known@mail.example is also on row 8"),
        (9, "external:billing", "B-2 is also on row 8"),
    ]
    assert snapshot(world.org) == before


def test_two_rows_that_are_the_same_customer_are_a_row_error(world):
    known = CustomerFactory(organisation=world.org)
    CustomerIdentityFactory(customer=known, kind="email", value="ana@mail.example")
    CustomerIdentityFactory(customer=known, kind="external", source="crm", value="C-9")
    before = snapshot(world.org)
    with pytest.raises(RowErrors) as error:
        customers_import(
            scope=world.scope(world.analyst),
            text=csv_file("email,external:crm", "ana@mail.example,", ",C-9"),
        )
    assert problems(error.value) == [
        (3, "external:crm", f"C-9 is customer {known.pk}, who is already on row 2")
    ]
    assert snapshot(world.org) == before


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        (
            "full_name",
            "email",
            "the file needs an identity column: email, phone or external:<source>",
        ),
        (
            "email,consent:fax",
            "consent:fax",
            "unknown channel (one of consent:email, consent:sms, consent:phone)",
        ),
        (
            "email,external:C R M",
            "external:c r m",
            "name the source system in lower-case letters, digits, - or _ (external:crm)",
        ),
        ("email,attr:", "attr:", "name the attribute (attr:tier)"),
    ],
)
def test_columns_that_name_nothing_known_are_errors_on_row_1(world, header, column, message):
    with pytest.raises(RowErrors) as error:
        customers_import(scope=world.scope(world.analyst), text=csv_file(header, "x"))
    assert problems(error.value) == [(1, column, message)]


def test_national_phone_numbers_are_read_in_the_chosen_region(world):
    customers_import(
        scope=world.scope(world.analyst), text=csv_file("phone", "512 345 678"), region="pl"
    )
    assert CustomerIdentity.objects.filter(organisation=world.org, value="+48512345678").exists()


def test_an_unknown_region_names_the_option(world):
    with pytest.raises(ValidationFailed) as error:
        customers_import(scope=world.scope(world.analyst), text=CUSTOMERS, region="XX")
    assert error.value.errors[0].field == "region"
    assert not Customer.objects.filter(organisation=world.org).exists()


def test_another_organisations_customer_with_the_same_identity_is_not_touched(world):
    theirs = CustomerFactory(organisation=world.other_org, full_name="Theirs")
    CustomerIdentityFactory(customer=theirs, kind="email", value="ana.pop@mail.example")

    result = customers_import(scope=world.scope(world.analyst), text=CUSTOMERS)

    assert result.created == 3
    theirs.refresh_from_db()
    assert (theirs.full_name, identities_of(theirs)) == (
        "Theirs",
        ["email:ana.pop@mail.example"],
    )


def test_a_dry_run_counts_but_writes_nothing(world):
    result = customers_import(scope=world.scope(world.analyst), text=CUSTOMERS, dry_run=True)
    assert (result.created, result.dry_run) == (3, True)
    assert not Customer.objects.filter(organisation=world.org).exists()


@pytest.mark.parametrize("role", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_import_customers(world, role):
    with pytest.raises(PermissionDenied):
        customers_import(scope=world.scope(world.users_by_role[role]), text=CUSTOMERS)
    assert not Customer.objects.filter(organisation=world.org).exists()


def test_thousands_of_customers_import_in_a_bounded_number_of_queries(
    world, django_assert_max_num_queries
):
    rows = [
        f"customer{n}@mail.example,+4072{n:07d},C-{n},Customer {n},ro,no,yes,,gold,"
        for n in range(3000)
    ]
    text = csv_file(HEADER, *rows)
    scope = world.scope(world.analyst)
    # Inserts go in batches as large as the database takes (SQLite: 999 values a statement);
    # one query per row would be thousands.
    batched = len(rows) // 20

    with django_assert_max_num_queries(batched):
        first = customers_import(scope=scope, text=text)
    with django_assert_max_num_queries(batched):
        second = customers_import(scope=scope, text=text.replace("gold", "platinum"))

    assert (first.created, second.created, second.updated) == (3000, 0, 3000)
    assert CustomerIdentity.objects.filter(organisation=world.org).count() == 9000
    assert (
        Customer.objects.filter(organisation=world.org, attributes__tier="platinum").count() == 3000
    )
