"""Helpers for page tests: a browser-like client signed in as one of the world's users."""

from collections.abc import Callable

import pytest
from django.test import Client

from sonda.accounts.models import User


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in
