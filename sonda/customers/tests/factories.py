import factory

from sonda.accounts.tests.factories import OrganisationFactory
from sonda.customers.models import Customer, CustomerIdentity


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    full_name = factory.Sequence(lambda n: f"Customer {n}")
    preferred_language = "ro"


class CustomerIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIdentity

    customer = factory.SubFactory(CustomerFactory)
    organisation = factory.SelfAttribute("customer.organisation")
    kind = "email"
    source = ""
    value = factory.Sequence(lambda n: f"customer{n}@mail.example")
