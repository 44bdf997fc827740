"""Who may open which page: the authorisation matrix of every page of the web shell.

Rows are pages, columns the world's users. Anonymous visitors are sent to sign in; another
organisation's object, or a unit or person outside a manager's subtree, is not found (404); a role
that may not use a page is refused (403).
"""

from collections.abc import Callable
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.accounts.models import Membership
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory

ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")


def customer_url(name: str) -> Callable[..., str]:
    def build(world, customer) -> str:
        return reverse(name, kwargs={"customer_id": customer.pk})

    return build


# page: (how to build its URL, expected status per role)
MATRIX: dict[str, tuple[Callable[..., str], dict[str, int]]] = {
    "home": (
        lambda w, c: reverse("home"),
        dict.fromkeys(ROLES, 200),
    ),
    "profile": (
        lambda w, c: reverse("accounts:profile"),
        dict.fromkeys(ROLES, 200),
    ),
    "API tokens": (
        lambda w, c: reverse("accounts:tokens"),
        dict.fromkeys(ROLES, 200),
    ),
    "unit tree": (
        lambda w, c: reverse("org:unit_tree"),
        {**dict.fromkeys(ROLES, 200), "frontline": 403},
    ),
    "unit detail (North)": (
        lambda w, c: reverse("org:unit_detail", kwargs={"unit_id": w.north.pk}),
        {**dict.fromkeys(ROLES, 200), "manager_south": 404, "frontline": 403, "outsider": 404},
    ),
    "unit edit (North)": (
        lambda w, c: reverse("org:unit_edit", kwargs={"unit_id": w.north.pk}),
        {
            "admin": 200,
            "analyst": 200,
            "executive": 403,
            "manager_north": 403,
            "manager_south": 404,
            "frontline": 403,
            "outsider": 404,
        },
    ),
    "new unit": (
        lambda w, c: reverse("org:unit_create"),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "outsider": 200},
    ),
    "people": (
        lambda w, c: reverse("org:person_list"),
        {**dict.fromkeys(ROLES, 200), "frontline": 403},
    ),
    "person detail (in North 1)": (
        lambda w, c: reverse("org:person_detail", kwargs={"person_id": w.frontline_person.pk}),
        {**dict.fromkeys(ROLES, 200), "manager_south": 404, "frontline": 403, "outsider": 404},
    ),
    "person edit (in North 1)": (
        lambda w, c: reverse("org:person_edit", kwargs={"person_id": w.frontline_person.pk}),
        {
            "admin": 200,
            "analyst": 200,
            "executive": 403,
            "manager_north": 403,
            "manager_south": 404,
            "frontline": 403,
            "outsider": 404,
        },
    ),
    "new person": (
        lambda w, c: reverse("org:person_create"),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "outsider": 200},
    ),
    "customers": (
        lambda w, c: reverse("customers:list"),
        {
            **dict.fromkeys(ROLES, 200),
            "manager_north": 403,
            "manager_south": 403,
            "frontline": 403,
        },
    ),
    "customer detail": (
        customer_url("customers:detail"),
        {
            **dict.fromkeys(ROLES, 200),
            "manager_north": 404,
            "manager_south": 404,
            "frontline": 404,
            "outsider": 404,
        },
    ),
    "customer merge": (
        customer_url("customers:merge"),
        {
            "admin": 200,
            "analyst": 200,
            "executive": 403,
            "manager_north": 404,
            "manager_south": 404,
            "frontline": 404,
            "outsider": 404,
        },
    ),
    "members": (
        lambda w, c: reverse("accounts:members"),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "outsider": 200},
    ),
    "add member": (
        lambda w, c: reverse("accounts:member_add"),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "outsider": 200},
    ),
    "change member (frontline)": (
        lambda w, c: reverse(
            "accounts:member_change",
            kwargs={"membership_id": Membership.objects.get(user=w.frontline).pk},
        ),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "outsider": 404},
    ),
    "audit log": (
        lambda w, c: reverse("accounts:audit"),
        {**dict.fromkeys(ROLES, 403), "admin": 200, "outsider": 200},
    ),
}


@pytest.fixture
def customer(world):
    customer = CustomerFactory(organisation=world.org, full_name="Ioana Popescu")
    CustomerIdentityFactory(customer=customer, kind="email", value="ioana@mail.example")
    return customer


@pytest.mark.parametrize("page", list(MATRIX))
def test_anonymous_visitors_are_sent_to_sign_in(world, customer, client: Client, page):
    build, _expected = MATRIX[page]
    url = build(world, customer)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(MATRIX))
def test_each_role_opens_only_the_pages_it_may_use(world, customer, signed_in, page, role):
    build, expected = MATRIX[page]
    response = signed_in(world.users_by_role[role]).get(build(world, customer))
    assert response.status_code == expected[role]


def test_a_user_without_any_membership_is_refused(world, signed_in):
    Membership.objects.filter(user=world.analyst).delete()
    response = signed_in(world.analyst).get(reverse("home"))
    assert response.status_code == 403


def test_another_organisations_lists_show_nothing_of_this_one(world, customer, signed_in):
    client = signed_in(world.outsider)
    assert "North" not in client.get(reverse("org:unit_tree")).content.decode()
    assert "Ana Frontline" not in client.get(reverse("org:person_list")).content.decode()
    assert "Ioana Popescu" not in client.get(reverse("customers:list")).content.decode()
    assert "frontline@banca.example" not in client.get(reverse("accounts:members")).content.decode()
