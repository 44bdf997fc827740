"""Customer search by any identity, the profile page, and merging duplicates."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.accounts.models import AuditEvent
from sonda.customers.models import Consent, Customer, CustomerIdentity, CustomerMerge
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory


@pytest.fixture
def ioana(world):
    customer = CustomerFactory(
        organisation=world.org,
        full_name="Ioana Popescu",
        attributes={"tier": "gold", "products": ["card", "loan"], "salaried": True},
    )
    CustomerIdentityFactory(customer=customer, kind="email", value="ioana@mail.example")
    CustomerIdentityFactory(customer=customer, kind="phone", value="+40721234567")
    CustomerIdentityFactory(customer=customer, kind="external", source="crm", value="C-1001")
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="email", granted=True, source="crm"
    )
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="sms", granted=False, source="call"
    )
    return customer


def found(html: str) -> list[str]:
    """The names in the result list (each row links its number and its name)."""
    return re.findall(
        r'<td><a href="/customers/\d+/">\d+</a></td>\s*<td><a href="/customers/\d+/">([^<]+)</a>',
        html,
    )


@pytest.mark.parametrize(
    "search",
    [
        "ioana@mail.example",
        "IOANA@Mail.Example",
        "+40721234567",
        "0721 234 567",
        "0040 721 234 567",
        "+40 (721) 234-567",
        "C-1001",
        "popescu",
    ],
)
def test_a_customer_is_found_by_any_identity_or_name(world, ioana, signed_in, search):
    CustomerFactory(organisation=world.org, full_name="Someone Else")
    html = signed_in(world.analyst).get(reverse("customers:list"), {"q": search}).content.decode()
    assert found(html) == ["Ioana Popescu"]


def test_another_organisations_customer_is_never_found(world, ioana, signed_in):
    stranger = CustomerFactory(organisation=world.other_org, full_name="Ioana Popescu")
    CustomerIdentityFactory(customer=stranger, kind="email", value="ioana@mail.example")
    html = signed_in(world.outsider).get(reverse("customers:list"), {"q": "ioana@mail.example"})
    assert re.findall(r'<a href="/customers/(\d+)/">', html.content.decode()) == [
        str(stranger.pk),
        str(stranger.pk),
    ]


def test_a_search_without_match_says_so(world, ioana, signed_in):
    html = signed_in(world.analyst).get(reverse("customers:list"), {"q": "nobody"}).content
    assert "No customer matches “nobody”." in html.decode()


def test_the_customer_list_takes_the_same_queries_however_many_customers(world, signed_in):
    client = signed_in(world.executive)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("customers:list")).status_code == 200
        return len(captured)

    CustomerIdentityFactory(customer=CustomerFactory(organisation=world.org))
    few = queries()
    for _ in range(25):
        CustomerIdentityFactory(customer=CustomerFactory(organisation=world.org))
    assert queries() == few == 8


def test_the_profile_shows_identities_consents_attributes_and_merges(world, ioana, signed_in):
    old = CustomerFactory(organisation=world.org, full_name="I. Popescu")
    CustomerMerge.objects.create(
        organisation=world.org, surviving=ioana, merged=old, actor=world.admin, reason="same"
    )
    html = signed_in(world.executive).get(reverse("customers:detail", args=[ioana.pk]))
    html = html.content.decode()
    identities = html.split("<h2>Identities</h2>", 1)[1].split("</table>", 1)[0]
    assert re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td><td><code>([^<]+)</code>", identities
    ) == [
        ("Email", "—", "ioana@mail.example"),
        ("External id", "crm", "C-1001"),
        ("Phone", "—", "+40721234567"),
    ]
    consents = html.split("<h2>Consents</h2>", 1)[1].split("</table>", 1)[0]
    assert 'Email</td>\n      <td><span class="badge badge-yes">granted' in consents
    assert 'SMS</td>\n      <td><span class="badge badge-no">withdrawn' in consents
    assert "<dt>tier</dt><dd>gold</dd>" in html
    assert "<dt>products</dt><dd>card, loan</dd>" in html
    assert "<dt>salaried</dt><dd>yes</dd>" in html
    assert f"Customer {old.pk} was merged into this profile on" in html
    # An executive reads but does not merge.
    assert reverse("customers:merge", args=[ioana.pk]) not in html


def test_a_merged_profile_points_to_the_one_that_stands_for_the_person(world, ioana, signed_in):
    old = CustomerFactory(organisation=world.org, merged_into=ioana)
    html = signed_in(world.analyst).get(reverse("customers:detail", args=[old.pk])).content
    html = html.decode()
    assert f'<a href="/customers/{ioana.pk}/">Go to customer {ioana.pk}</a>' in html
    assert reverse("customers:merge", args=[old.pk]) not in html


def test_an_analyst_merges_a_duplicate_into_a_profile(world, ioana, signed_in):
    duplicate = CustomerFactory(organisation=world.org, full_name="Ioana P.")
    CustomerIdentityFactory(customer=duplicate, kind="email", value="ioana.p@mail.example")
    response = signed_in(world.analyst).post(
        reverse("customers:merge", args=[ioana.pk]),
        {"merged": duplicate.pk, "reason": "Same person, two CRM records"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[ioana.pk])
    assert Customer.objects.get(pk=duplicate.pk).merged_into_id == ioana.pk
    assert set(CustomerIdentity.objects.filter(customer=ioana).values_list("value", flat=True)) == {
        "ioana@mail.example",
        "ioana.p@mail.example",
        "+40721234567",
        "C-1001",
    }
    merge = CustomerMerge.objects.get(surviving=ioana)
    assert (merge.merged_id, merge.actor_id, merge.reason) == (
        duplicate.pk,
        world.analyst.pk,
        "Same person, two CRM records",
    )
    assert AuditEvent.objects.filter(action="customer.merged", actor=world.analyst).count() == 1


@pytest.mark.parametrize(
    ("merged", "error"),
    [
        ("self", "a customer cannot be merged into itself"),
        ("missing", "There is no such customer."),
        ("stranger", "There is no such customer."),
        ("", "This field is required."),
    ],
)
def test_a_merge_that_cannot_be_done_says_why_on_the_field_and_changes_nothing(
    world, ioana, signed_in, merged, error
):
    stranger = CustomerFactory(organisation=world.other_org)
    value = {"self": ioana.pk, "missing": 99_999_999, "stranger": stranger.pk, "": ""}[merged]
    response = signed_in(world.admin).post(
        reverse("customers:merge", args=[ioana.pk]), {"merged": value, "reason": "why not"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"merged": [error]}
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.get(pk=stranger.pk).merged_into_id is None
    assert CustomerIdentity.objects.filter(customer=ioana).count() == 3


def test_an_executive_may_not_merge(world, ioana, signed_in):
    duplicate = CustomerFactory(organisation=world.org)
    response = signed_in(world.executive).post(
        reverse("customers:merge", args=[ioana.pk]), {"merged": duplicate.pk, "reason": "x"}
    )
    assert response.status_code == 403
    assert Customer.objects.get(pk=duplicate.pk).merged_into_id is None


def test_only_admins_are_offered_export_and_erasure_of_personal_data(world, ioana, signed_in):
    export_url = reverse("privacy:customer_export", kwargs={"customer_id": ioana.pk})
    erase_url = reverse("privacy:customer_erase", kwargs={"customer_id": ioana.pk})
    page = reverse("customers:detail", kwargs={"customer_id": ioana.pk})
    admin_html = signed_in(world.admin).get(page).content.decode()
    assert export_url in admin_html
    assert erase_url in admin_html
    for user in (world.analyst, world.executive):
        html = signed_in(user).get(page).content.decode()
        assert export_url not in html
        assert erase_url not in html
