"""The personal-data registry: each app says what it holds about a customer.

An app registers a `PersonalDataSource` in its AppConfig.ready(). Export, erasure and merges walk
the registry, so a new app (surveys, listening, the loop) plugs in without changes here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sonda.customers.models import Customer


@dataclass(frozen=True)
class PersonalDataSource:
    """What one app holds about a customer and how to export, erase and merge it.

    - export(customer) gives JSON-ready data for the customer's export file.
    - erase(customer) removes identifying data and anonymises what must stay for statistics;
      returns how many rows it touched.
    - merge(surviving, merged) re-points the app's rows from `merged` to `surviving`.
    """

    name: str
    export: Callable[[Customer], Any]
    erase: Callable[[Customer], int]
    merge: Callable[[Customer, Customer], int] | None = None


_sources: dict[str, PersonalDataSource] = {}


def register(source: PersonalDataSource) -> None:
    """Add (or replace, by name) an app's source."""
    _sources[source.name] = source


def sources() -> list[PersonalDataSource]:
    return list(_sources.values())


def unregister(name: str) -> None:
    """Remove an app's source (tests that register a source of their own put things back)."""
    _sources.pop(name, None)
