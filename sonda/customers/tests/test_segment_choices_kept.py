"""The list of segments is kept between pages, and follows every change of the customers."""

from sonda.customers.selectors import CustomerSegment, customer_segment_choices
from sonda.customers.tests.factories import CustomerFactory


def test_the_segment_list_follows_new_changed_and_removed_customers(world):
    scope = world.scope(world.analyst)
    ana = CustomerFactory(organisation=world.org, attributes={"tier": "retail"})
    assert customer_segment_choices(scope=scope) == [CustomerSegment("tier", "retail")]

    CustomerFactory(organisation=world.org, attributes={"tier": "business"})
    assert customer_segment_choices(scope=scope) == [
        CustomerSegment("tier", "business"),
        CustomerSegment("tier", "retail"),
    ]

    ana.attributes = {"tier": "private"}
    ana.save()
    assert CustomerSegment("tier", "private") in customer_segment_choices(scope=scope)
    assert CustomerSegment("tier", "retail") not in customer_segment_choices(scope=scope)

    ana.delete()
    assert customer_segment_choices(scope=scope) == [CustomerSegment("tier", "business")]


def test_the_kept_list_of_one_organisation_is_not_another_ones(world):
    CustomerFactory(organisation=world.org, attributes={"tier": "retail"})
    CustomerFactory(organisation=world.other_org, attributes={"tier": "gold"})
    ours = customer_segment_choices(scope=world.scope(world.analyst))
    theirs = customer_segment_choices(scope=world.scope(world.outsider, world.other_org))
    assert ours == [CustomerSegment("tier", "retail")]
    assert theirs == [CustomerSegment("tier", "gold")]
