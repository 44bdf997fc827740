"""/customers: profiles, identities, lookup, resolution and merges over the API."""

import pytest

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, problem_fields
from sonda.customers.models import Consent, Customer, CustomerIdentity, CustomerMerge
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory

# Customer profiles are read organisation-wide by admins, analysts and executives only.
READ = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 404,
    "frontline": 404,
    "manager_north": 404,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
LIST = {**READ, "outsider": 200, "manager_south": 403, "frontline": 403, "manager_north": 403}
WRITE = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 200,
    "admin": 200,
}


@pytest.fixture
def ana(world) -> Customer:
    customer = CustomerFactory(organisation=world.org, full_name="Ana Pop")
    CustomerIdentityFactory(customer=customer, kind="email", value="ana.pop@mail.example")
    CustomerIdentityFactory(customer=customer, kind="phone", value="+40721234567")
    CustomerIdentityFactory(customer=customer, kind="external", source="crm", value="C-17")
    Consent.objects.create(organisation=world.org, customer=customer, channel="sms", granted=True)
    return customer


def identities_of(customer: Customer) -> list[tuple[str, str, str]]:
    return list(
        CustomerIdentity.objects.filter(customer=customer)
        .order_by("kind", "source", "value")
        .values_list("kind", "source", "value")
    )


def snapshot() -> tuple[int, int, int]:
    return (Customer.objects.count(), CustomerIdentity.objects.count(), Consent.objects.count())


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_customer(api, ana, who):
    response = api.as_(who).get(f"/customers/{ana.pk}")
    assert response.status_code == READ[who]
    if READ[who] != 200:
        problem_fields(response)
        return
    body = response.json()
    assert body["full_name"] == "Ana Pop"
    assert [(i["kind"], i["source"], i["value"]) for i in body["identities"]] == [
        ("email", "", "ana.pop@mail.example"),
        ("external", "crm", "C-17"),
        ("phone", "", "+40721234567"),
    ]
    assert [(c["channel"], c["granted"]) for c in body["consents"]] == [("sms", True)]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_customers(api, ana, who):
    response = api.as_(who).get("/customers")
    assert response.status_code == LIST[who]
    if LIST[who] == 200:
        expected = [] if who == "outsider" else [ana.pk]
        assert [c["id"] for c in response.json()["items"]] == expected


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_change_a_customer(api, ana, who):
    response = api.as_(who).patch(f"/customers/{ana.pk}", {"full_name": "Ana Popa"})
    assert response.status_code == WRITE[who]
    assert Customer.objects.get(pk=ana.pk).full_name == (
        "Ana Popa" if WRITE[who] == 200 else "Ana Pop"
    )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_a_customer(api, world, who):
    before = Customer.objects.filter(organisation=world.org).count()
    response = api.as_(who).post(
        "/customers", {"identities": [{"kind": "email", "value": "new@mail.example"}]}
    )
    # The stranger admin creates a customer in their own organisation, never in ours.
    expected = {**WRITE, "outsider": 201, "analyst": 201, "admin": 201}[who]
    assert response.status_code == expected
    assert Customer.objects.filter(organisation=world.org).count() == before + (
        1 if who in {"analyst", "admin"} else 0
    )


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_merge_customers(api, world, ana, who):
    duplicate = CustomerFactory(organisation=world.org)
    response = api.as_(who).post(f"/customers/{ana.pk}/merge", {"merged_id": duplicate.pk})
    assert response.status_code == (201 if WRITE[who] == 200 else WRITE[who])
    merged_into = Customer.objects.get(pk=duplicate.pk).merged_into_id
    assert merged_into == (ana.pk if WRITE[who] == 200 else None)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_resolve_an_identity(api, world, who):
    response = api.as_(who).post("/customers/resolve", {"kind": "email", "value": "x@mail.example"})
    # Resolution may create a profile, so it takes a role that may create customers; the
    # stranger admin resolves it within their own organisation.
    expected = {**WRITE, "outsider": 201, "analyst": 201, "admin": 201}[who]
    assert response.status_code == expected
    ours = CustomerIdentity.objects.filter(organisation=world.org, value="x@mail.example")
    assert ours.exists() == (who in {"analyst", "admin"})


def test_a_customer_is_created_with_identities_consents_and_attributes(api, world):
    response = api.as_("analyst").post(
        "/customers",
        {
            "full_name": "Jan Kowalski",
            "preferred_language": "pl",
            "time_zone": "Europe/Warsaw",
            "attributes": {"tier": "gold", "products": ["card", "loan"]},
            "identities": [
                {"kind": "email", "value": " Jan.Kowalski@Mail.EXAMPLE "},
                {"kind": "phone", "value": "601 234 567", "region": "PL"},
                {"kind": "external", "source": "crm", "value": "K-1"},
            ],
            "consents": {"email": True, "sms": False},
        },
    )
    assert response.status_code == 201
    customer = Customer.objects.get(organisation=world.org)
    body = response.json()
    assert body["id"] == customer.pk
    assert (body["full_name"], body["preferred_language"], body["time_zone"]) == (
        "Jan Kowalski",
        "pl",
        "Europe/Warsaw",
    )
    assert body["attributes"] == {"tier": "gold", "products": ["card", "loan"]}
    assert identities_of(customer) == [
        ("email", "", "jan.kowalski@mail.example"),
        ("external", "crm", "K-1"),
        ("phone", "", "+48601234567"),
    ]
    assert sorted(customer.consents.values_list("channel", "granted")) == [
        ("email", True),
        ("sms", False),
    ]


def test_a_known_identity_is_a_conflict_and_nothing_is_written(api, world, ana):
    before = snapshot()
    response = api.as_("analyst").post(
        "/customers",
        {
            "full_name": "Someone",
            "identities": [
                {"kind": "email", "value": "someone@mail.example"},
                {"kind": "email", "value": "ANA.POP@mail.example"},
            ],
            "consents": {"email": True},
        },
    )
    assert response.status_code == 409
    assert problem_fields(response) == ["identities[1]"]
    assert response.json()["detail"] == (
        f"identities[1]: email:ana.pop@mail.example already belongs to customer {ana.pk}"
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({"kind": "email", "value": "not-an-email"}, "identities[0].value"),
        ({"kind": "phone", "value": "12"}, "identities[0].value"),
        ({"kind": "phone", "value": "0721 234 567"}, "identities[0].value"),
        ({"kind": "external", "value": "K-1"}, "identities[0].source"),
        ({"kind": "email", "value": "a@mail.example", "source": "crm"}, "identities[0].source"),
        ({"kind": "fax", "value": "1"}, "identities[0].kind"),
        ({"kind": "email", "value": "a" * 250 + "@x.io"}, "identities[0].value"),
        ({"kind": "email"}, "identities[0].value"),
        ({"kind": "phone", "value": "0721 234 567", "region": "ro"}, "identities[0].region"),
        ({"kind": "email", "value": "a@mail.example", "primary": True}, "identities[0].primary"),
    ],
)
def test_a_bad_identity_is_refused_naming_its_place(api, world, identity, field):
    before = snapshot()
    response = api.as_("analyst").post(
        "/customers", {"full_name": "Someone", "identities": [identity]}
    )
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"full_name": "x" * 201}, "full_name", "String should have at most 200 characters"),
        ({"full_name": 5}, "full_name", "Input should be a valid string"),
        (
            {"do_not_contact": "perhaps"},
            "do_not_contact",
            "Input should be a valid boolean, unable to interpret input",
        ),
        ({"identities": {"kind": "email"}}, "identities", "Input should be a valid list"),
        ({"nickname": "Ana"}, "nickname", "unknown field"),
        (
            {"preferred_language": "xx"},
            "preferred_language",
            "'xx' is not a supported language code",
        ),
        ({"consents": {"fax": True}}, "consents.fax", "unknown channel (one of email, sms, phone)"),
        ({"attributes": ["gold"]}, "attributes", "Input should be a valid dictionary"),
    ],
)
def test_bad_profile_fields_are_refused_naming_the_field(api, world, body, field, message):
    before = snapshot()
    response = api.as_("analyst").post("/customers", body)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert snapshot() == before


def test_a_lookup_finds_the_customer_by_any_identity(api, ana):
    caller = api.as_("executive")
    for query in (
        {"kind": "email", "value": "Ana.Pop@mail.example"},
        {"kind": "phone", "value": "+40 721 234 567"},
        {"kind": "phone", "value": "0721 234 567", "region": "RO"},
        {"kind": "external", "source": "crm", "value": "C-17"},
    ):
        response = caller.get("/customers/lookup", **query)
        assert response.status_code == 200, query
        assert response.json()["id"] == ana.pk


def test_a_lookup_of_an_unknown_identity_is_not_found(api, ana):
    response = api.as_("analyst").get(
        "/customers/lookup", kind="external", source="billing", value="C-17"
    )
    assert response.status_code == 404
    problem_fields(response)


def test_a_lookup_does_not_cross_organisations(api, ana):
    response = api.as_("outsider").get(
        "/customers/lookup", kind="email", value="ana.pop@mail.example"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "phone", "value": "0721 234 567"}, "value"),
        ({"kind": "external", "value": "C-17"}, "source"),
        ({"kind": "fax", "value": "1"}, "kind"),
        ({"value": "ana.pop@mail.example"}, "kind"),
        ({"kind": "email"}, "value"),
        ({"kind": "phone", "value": "0721", "region": "Romania"}, "region"),
    ],
)
def test_a_bad_lookup_names_the_parameter(api, ana, query, field):
    response = api.as_("analyst").get("/customers/lookup", **query)
    assert response.status_code == 422
    assert problem_fields(response) == [field]


@pytest.mark.parametrize(
    "search", ["ana.pop@MAIL.example", "+40721234567", "0721 234 567", "C-17", "pop"]
)
def test_customers_are_searched_by_any_identity_or_name(api, world, ana, search):
    CustomerFactory(organisation=world.org, full_name="Ion Ionescu")
    items = api.as_("analyst").get("/customers", search=search).json()["items"]
    assert [c["id"] for c in items] == [ana.pk]


def test_listing_customers_takes_the_same_queries_however_many_there_are(
    api, world, django_assert_max_num_queries
):
    for n in range(30):
        customer = CustomerFactory(organisation=world.org)
        CustomerIdentityFactory(customer=customer, value=f"c{n}@mail.example")
        Consent.objects.create(
            organisation=world.org, customer=customer, channel="email", granted=True
        )
    caller = api.as_("analyst")
    caller.get("/customers")
    # auth: token, membership, its user; the count, the page, its identities and consents.
    with django_assert_max_num_queries(7):
        response = caller.get("/customers", limit=500)
    body = response.json()
    assert body["count"] == 30
    assert all(len(c["identities"]) == 1 and len(c["consents"]) == 1 for c in body["items"])


def test_resolving_a_new_identity_creates_the_customer_once(api, world):
    caller = api.as_("analyst")
    body = {"kind": "phone", "value": "0721 234 567", "region": "RO"}
    first = caller.post("/customers/resolve", body)
    again = caller.post("/customers/resolve", {"kind": "phone", "value": "+40721234567"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    customer = Customer.objects.get(organisation=world.org)
    assert identities_of(customer) == [("phone", "", "+40721234567")]


def test_resolving_a_known_identity_answers_its_customer(api, ana):
    response = api.as_("admin").post(
        "/customers/resolve", {"kind": "external", "source": "CRM", "value": "C-17"}
    )
    assert response.status_code == 200
    assert response.json()["id"] == ana.pk
    assert Customer.objects.count() == 1


def test_resolving_a_bad_identity_names_the_field(api, world):
    response = api.as_("admin").post("/customers/resolve", {"kind": "email", "value": "nobody"})
    assert response.status_code == 422
    assert problem_fields(response) == ["value"]
    assert Customer.objects.count() == 0


def test_an_identity_is_added_and_removed(api, ana):
    caller = api.as_("analyst")
    added = caller.post(
        f"/customers/{ana.pk}/identities",
        {"kind": "external", "source": "billing", "value": "B-9"},
    )
    assert added.status_code == 201
    assert ("external", "billing", "B-9") in identities_of(ana)
    identity = CustomerIdentity.objects.get(customer=ana, source="billing")
    assert {
        "id": identity.pk,
        "kind": "external",
        "source": "billing",
        "value": "B-9",
    } in added.json()["identities"]
    removed = caller.delete(f"/customers/{ana.pk}/identities/{identity.pk}")
    assert removed.status_code == 204
    assert ("external", "billing", "B-9") not in identities_of(ana)


def test_an_identity_of_another_customer_cannot_be_added(api, world, ana):
    other = CustomerFactory(organisation=world.org)
    response = api.as_("analyst").post(
        f"/customers/{other.pk}/identities", {"kind": "phone", "value": "+40721234567"}
    )
    assert response.status_code == 409
    assert problem_fields(response) == ["identity"]
    assert identities_of(other) == []


def test_an_identity_is_removed_only_from_its_own_customer(api, world, ana):
    other = CustomerFactory(organisation=world.org)
    identity = CustomerIdentity.objects.get(customer=ana, kind="email")
    response = api.as_("analyst").delete(f"/customers/{other.pk}/identities/{identity.pk}")
    assert response.status_code == 404
    assert CustomerIdentity.objects.filter(pk=identity.pk).exists()


def test_another_organisations_customer_is_not_found_for_every_write(api, world, ana):
    caller = api.as_("outsider")
    identity = CustomerIdentity.objects.get(customer=ana, kind="email")
    theirs = CustomerFactory(organisation=world.other_org)
    answers = [
        caller.patch(f"/customers/{ana.pk}", {"full_name": "Mine"}),
        caller.post(f"/customers/{ana.pk}/identities", {"kind": "email", "value": "a@b.example"}),
        caller.delete(f"/customers/{ana.pk}/identities/{identity.pk}"),
        caller.post(f"/customers/{ana.pk}/merge", {"merged_id": theirs.pk}),
        caller.post(f"/customers/{theirs.pk}/merge", {"merged_id": ana.pk}),
        caller.get(f"/customers/{ana.pk}/merges"),
    ]
    assert [a.status_code for a in answers] == [404] * 6
    assert Customer.objects.get(pk=ana.pk).full_name == "Ana Pop"
    assert len(identities_of(ana)) == 3
    assert CustomerMerge.objects.count() == 0


def test_a_merge_moves_identities_keeps_history_and_is_audited(api, world, ana):
    duplicate = CustomerFactory(organisation=world.org, full_name="A. Pop")
    CustomerIdentityFactory(customer=duplicate, kind="external", source="billing", value="B-1")
    response = api.as_("analyst").post(
        f"/customers/{ana.pk}/merge", {"merged_id": duplicate.pk, "reason": "same person"}
    )
    assert response.status_code == 201
    merge = CustomerMerge.objects.get()
    assert response.json() == {
        "id": merge.pk,
        "surviving_id": ana.pk,
        "merged_id": duplicate.pk,
        "actor_email": "analyst@banca.example",
        "reason": "same person",
        "identities_moved": ["external:billing:B-1"],
        "created_at": response.json()["created_at"],
    }
    assert ("external", "billing", "B-1") in identities_of(ana)
    assert api.as_("analyst").get(f"/customers/{duplicate.pk}").json()["merged_into_id"] == ana.pk
    history = api.as_("executive").get(f"/customers/{duplicate.pk}/merges").json()
    assert (history["count"], history["items"][0]["id"]) == (1, merge.pk)
    event = AuditEvent.objects.get(action="customer.merged")
    assert (event.organisation_id, event.target_id) == (world.org.pk, str(ana.pk))


def test_a_customer_cannot_be_merged_into_itself(api, ana):
    response = api.as_("analyst").post(f"/customers/{ana.pk}/merge", {"merged_id": ana.pk})
    assert response.status_code == 422
    assert problem_fields(response) == ["merged_id"]
    assert CustomerMerge.objects.count() == 0


def test_a_merged_profile_can_no_longer_change(api, world, ana):
    duplicate = CustomerFactory(organisation=world.org)
    api.as_("analyst").post(f"/customers/{ana.pk}/merge", {"merged_id": duplicate.pk})
    response = api.as_("analyst").patch(f"/customers/{duplicate.pk}", {"full_name": "Again"})
    assert response.status_code == 409
    assert problem_fields(response) == ["customer"]


def test_a_profile_update_changes_only_what_is_sent(api, ana):
    response = api.as_("admin").patch(
        f"/customers/{ana.pk}",
        {"do_not_contact": True, "consents": {"sms": False}, "attributes": {"tier": "silver"}},
    )
    assert response.status_code == 200
    ana.refresh_from_db()
    assert (ana.full_name, ana.preferred_language, ana.do_not_contact) == ("Ana Pop", "ro", True)
    assert ana.attributes == {"tier": "silver"}
    assert list(ana.consents.values_list("channel", "granted")) == [("sms", False)]


def test_a_profile_field_cannot_be_nulled(api, ana):
    response = api.as_("admin").patch(f"/customers/{ana.pk}", {"attributes": None})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "attributes", "message": "may not be null"}]


def test_listing_merges_takes_the_same_queries_however_many_there_are(
    api, world, ana, django_assert_max_num_queries
):
    caller = api.as_("analyst")
    for _ in range(10):
        duplicate = CustomerFactory(organisation=world.org)
        caller.post(f"/customers/{ana.pk}/merge", {"merged_id": duplicate.pk})
    # auth: token, membership, its user; the customer with its identities and consents; then
    # the count and the page with actors joined.
    with django_assert_max_num_queries(8):
        response = caller.get(f"/customers/{ana.pk}/merges", limit=500)
    assert response.json()["count"] == 10
    assert {m["actor_email"] for m in response.json()["items"]} == {"analyst@banca.example"}
