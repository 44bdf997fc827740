"""Integrators retry and race: resolving the same new identity at once creates one customer."""

import threading

import pytest
from django.db import connection
from django.test import Client

from sonda.accounts.services import api_token_create
from sonda.api.testing import Caller
from sonda.customers.models import Customer, CustomerIdentity


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_resolutions_of_a_new_identity_create_one_customer(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    secrets = [
        api_token_create(scope=world.scope(world.analyst), name=f"integration {n}").secret
        for n in range(2)
    ]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, int]] = []

    def resolve(secret: str) -> None:
        try:
            barrier.wait()
            response = Caller(Client(), secret).post(
                "/customers/resolve", {"kind": "phone", "value": "601 234 567", "region": "PL"}
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(secret,)) for secret in secrets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    customer = Customer.objects.get(organisation=world.org)
    assert sorted(answers) == [(200, customer.pk), (201, customer.pk)]
    assert list(
        CustomerIdentity.objects.filter(organisation=world.org).values_list("kind", "value")
    ) == [("phone", "+48601234567")]
