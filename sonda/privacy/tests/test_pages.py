import json

import pytest
from django.test import Client
from django.urls import reverse

from sonda.accounts.models import AuditEvent
from sonda.customers.models import Customer, CustomerIdentity
from sonda.privacy.tests.conftest import ANA_EMAIL

WHO = (
    "anonymous",
    "outsider",
    "manager_south",
    "frontline",
    "manager_north",
    "executive",
    "analyst",
    "admin",
)
# A customer's pages: anonymous visitors sign in first, another organisation's administrator
# does not find the customer, every role but the administrator is refused.
ON_A_CUSTOMER = {
    "anonymous": 302,
    "outsider": 404,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 403,
    "admin": 200,
}
# The erase-by-identifier form belongs to no customer: any organisation's administrator opens it.
ERASE_FORM = {**ON_A_CUSTOMER, "outsider": 200}


def as_(world, client: Client, who: str) -> Client:
    if who != "anonymous":
        client.force_login(world.users_by_role[who])
    return client


def assert_untouched(customer: Customer) -> None:
    customer.refresh_from_db()
    assert (customer.full_name, customer.erased_at) == ("Ana Popescu", None)
    assert CustomerIdentity.objects.filter(customer=customer).count() == 3
    assert not AuditEvent.objects.filter(action="customer.erased").exists()


def test_the_matrix_covers_every_caller(world):
    assert set(WHO) == {"anonymous", *world.users_by_role}


@pytest.mark.parametrize("who", WHO)
def test_who_may_download_a_customer_s_export(world, client, ana, who):
    url = reverse("privacy:customer_export", kwargs={"customer_id": ana.pk})
    response = as_(world, client, who).get(url)
    assert response.status_code == ON_A_CUSTOMER[who]
    if who == "anonymous":
        assert response["Location"] == f"{reverse('login')}?next={url}"
    exported = AuditEvent.objects.filter(action="customer.exported")
    assert exported.count() == (1 if who == "admin" else 0)


def test_the_export_downloads_as_a_json_attachment(world, signed_in, ana):
    url = reverse("privacy:customer_export", kwargs={"customer_id": ana.pk})
    response = signed_in(world.admin).get(url)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="customer-{ana.pk}.json"'
    document = json.loads(response.content.decode("utf-8"))
    assert document["customer_id"] == ana.pk
    assert document["customers"]["full_name"] == "Ana Popescu"


def test_the_export_is_read_only(world, signed_in, ana):
    url = reverse("privacy:customer_export", kwargs={"customer_id": ana.pk})
    assert signed_in(world.admin).post(url).status_code == 405
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


@pytest.mark.parametrize("who", WHO)
def test_who_may_open_the_erasure_confirmation(world, client, ana, who):
    url = reverse("privacy:customer_erase", kwargs={"customer_id": ana.pk})
    response = as_(world, client, who).get(url)
    assert response.status_code == ON_A_CUSTOMER[who]
    if who == "admin":
        assert "This cannot be undone." in response.content.decode()
    assert_untouched(ana)


@pytest.mark.parametrize("who", WHO)
def test_who_may_confirm_an_erasure(world, client, ana, who):
    url = reverse("privacy:customer_erase", kwargs={"customer_id": ana.pk})
    response = as_(world, client, who).post(url, {"confirm": "on"})
    assert response.status_code == ON_A_CUSTOMER[who]
    if who == "admin":
        assert f"Customer {ana.pk} is erased" in response.content.decode()
        assert Customer.objects.get(pk=ana.pk).erased_at is not None
    else:
        assert_untouched(ana)


def test_an_erasure_needs_the_confirmation_box(world, signed_in, ana):
    url = reverse("privacy:customer_erase", kwargs={"customer_id": ana.pk})
    response = signed_in(world.admin).post(url, {})
    assert response.status_code == 200
    assert response.context["form"].errors == {"confirm": ["This field is required."]}
    assert_untouched(ana)


def test_an_erased_customer_s_pages_are_not_found(world, signed_in, ana):
    client = signed_in(world.admin)
    url = reverse("privacy:customer_erase", kwargs={"customer_id": ana.pk})
    assert client.post(url, {"confirm": "on"}).status_code == 200
    assert client.post(url, {"confirm": "on"}).status_code == 404
    export = reverse("privacy:customer_export", kwargs={"customer_id": ana.pk})
    assert client.get(export).status_code == 404
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


@pytest.mark.parametrize("who", WHO)
def test_who_may_open_the_erase_by_identifier_form(world, client, who):
    response = as_(world, client, who).get(reverse("privacy:erase"))
    assert response.status_code == ERASE_FORM[who]


@pytest.mark.parametrize("who", WHO)
def test_who_may_erase_by_identifier(world, client, ana, who):
    form = {"kind": "email", "value": ANA_EMAIL, "source": "", "confirm": "on"}
    response = as_(world, client, who).post(reverse("privacy:erase"), form)
    assert response.status_code == ERASE_FORM[who]
    if who == "admin":
        assert f"Customer {ana.pk} is erased" in response.content.decode()
        assert Customer.objects.get(pk=ana.pk).erased_at is not None
        return
    if who == "outsider":
        # Their own organisation has nobody with this email.
        assert response.context["form"].errors == {"value": ["No customer has this identifier."]}
    assert_untouched(ana)


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (
            {"kind": "email", "value": "not-an-email", "confirm": "on"},
            {"value": ["'not-an-email' is not an email address"]},
        ),
        (
            {"kind": "external", "value": "C-17", "confirm": "on"},
            {
                "source": [
                    "an external id needs its source system: lower-case letters, digits, - or _"
                ]
            },
        ),
        ({"kind": "email", "value": ANA_EMAIL}, {"confirm": ["This field is required."]}),
        (
            {"kind": "fax", "value": "1", "confirm": "on"},
            {"kind": ["Select a valid choice. fax is not one of the available choices."]},
        ),
    ],
)
def test_the_erase_form_shows_each_error_on_its_field(world, signed_in, ana, form, errors):
    response = signed_in(world.admin).post(reverse("privacy:erase"), form)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert_untouched(ana)
