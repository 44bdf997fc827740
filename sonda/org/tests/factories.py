import factory

from sonda.accounts.tests.factories import OrganisationFactory
from sonda.org.models import Person, Unit, UnitType


class UnitTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitType
        django_get_or_create = ("organisation", "code")

    organisation = factory.SubFactory(OrganisationFactory)
    code = "branch"
    name = "Branch"


class UnitFactory(factory.django.DjangoModelFactory):
    """A unit with a correct materialised path (parent must be saved first)."""

    class Meta:
        model = Unit
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"Unit {n}")
    unit_type = factory.SubFactory(
        UnitTypeFactory, organisation=factory.SelfAttribute("..organisation")
    )
    parent = None
    path = ""
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 0)

    @factory.post_generation
    def _path(self, create, extracted, **kwargs):
        self.path = f"{self.parent.path if self.parent else ''}{self.pk}."
        if create:
            self.save(update_fields=["path"])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    organisation = factory.SubFactory(OrganisationFactory)
    employee_number = factory.Sequence(lambda n: f"E{n:05d}")
    full_name = factory.Sequence(lambda n: f"Employee {n}")
    email = factory.Sequence(lambda n: f"employee{n}@bank.example")
    job_title = "Advisor"
    unit = factory.SubFactory(UnitFactory, organisation=factory.SelfAttribute("..organisation"))
