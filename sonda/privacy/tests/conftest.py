"""A customer with personal data to export and erase, and the ways to call the pages and API."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from sonda.accounts.models import User
from sonda.api.testing import Api
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Customer
from sonda.customers.services import customer_create
from sonda.privacy.registry import PersonalDataSource, register, unregister

ANA_EMAIL = "ana.popescu@mail.example"
ANA_PHONE = "+40721234567"
ANA_CRM = "C-17"


@pytest.fixture
def ana(world) -> Customer:
    """Ana Popescu: an email, a phone, a CRM id; email consent granted, SMS withdrawn."""
    return customer_create(
        scope=world.scope(world.analyst),
        identities=[
            identity_normalise(kind="email", value=ANA_EMAIL),
            identity_normalise(kind="phone", value=ANA_PHONE),
            identity_normalise(kind="external", source="crm", value=ANA_CRM),
        ],
        full_name="Ana Popescu",
        preferred_language="ro",
        time_zone="Europe/Bucharest",
        attributes={"tier": "affluent", "products": ["card", "mortgage"]},
        consents={"email": True, "sms": False},
    )


@dataclass
class Answers:
    """A stand-in for a later app's personal data: answers kept per customer id."""

    held: dict[int, list[str]]


@pytest.fixture
def answers() -> Iterator[Answers]:
    """A second personal-data source, registered for one test only."""
    answers = Answers(held={})

    def export(customer: Customer) -> list[str]:
        return answers.held.get(customer.pk, [])

    def erase(customer: Customer) -> int:
        return len(answers.held.pop(customer.pk, []))

    register(PersonalDataSource(name="answers", export=export, erase=erase))
    yield answers
    unregister("answers")


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in
