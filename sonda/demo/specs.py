"""What the demo is made of, before it is written: specs drawn from the seeded generator."""

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sonda.accounts.models import Role
from sonda.core.errors import ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.demo import names

DEMO_PASSWORD = "sonda-demo-2026"  # noqa: S105 - the published password of the demo users
# Every timestamp of the demo: the same data on any machine and any day.
REFERENCE_DATE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scale:
    """How big the demo bank is. Ranges are (low, high), both included."""

    name: str
    regions_per_country: int
    branches_per_region: int
    staff_per_branch: tuple[int, int]
    teams_per_call_centre: tuple[int, int]
    agents_per_team: tuple[int, int]
    hq_functions: int
    staff_per_function: tuple[int, int]
    customers: int
    insurer_customers: int
    responses: int  # the bank's survey responses over the demo period


SCALES: dict[str, Scale] = {
    "full": Scale("full", 5, 4, (5, 8), (4, 6), (6, 9), 7, (2, 4), 20_000, 400, 200_000),
    "small": Scale("small", 2, 2, (3, 5), (2, 3), (3, 5), 7, (1, 2), 2_000, 100, 4_000),
    "tiny": Scale("tiny", 1, 1, (2, 2), (1, 1), (2, 2), 2, (1, 1), 200, 20, 300),
}


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    unit_type: str
    parent: str | None


@dataclass
class PersonSpec:
    number: str
    full_name: str
    email: str
    job_title: str
    unit: str
    supervisor: str | None
    manages: str | None = None
    login: str | None = None  # the demo user's email when this person signs in


@dataclass(frozen=True)
class CustomerSpec:
    full_name: str
    preferred_language: str
    time_zone: str
    attributes: dict[str, Any]
    do_not_contact: bool
    identities: tuple[IdentityKey, ...]
    consents: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class MembershipSpec:
    login: str
    full_name: str
    role: Role
    unit: str | None = None


@dataclass
class OrganisationSpec:
    name: str
    slug: str
    default_language: str
    time_zone: str
    unit_types: dict[str, str]
    units: list[UnitSpec]
    people: list[PersonSpec]
    customers: list[CustomerSpec] = field(default_factory=list)
    memberships: list[MembershipSpec] = field(default_factory=list)


class NameDrawer:
    """Draws people's names by nationality, and unique email addresses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()

    def person(self, nationality: str) -> str:
        rng = self.rng
        woman = rng.random() < 0.5
        if nationality == "ro":
            first = rng.choice(names.ROMANIAN_WOMEN if woman else names.ROMANIAN_MEN)
            return f"{first} {rng.choice(names.ROMANIAN_SURNAMES)}"
        if nationality == "pl":
            first = rng.choice(names.POLISH_WOMEN if woman else names.POLISH_MEN)
            surname = rng.choice(names.POLISH_SURNAMES)
            if woman and surname.endswith("ki"):
                surname = surname[:-1] + "a"
            return f"{first} {surname}"
        first = rng.choice(names.ENGLISH_WOMEN if woman else names.ENGLISH_MEN)
        return f"{first} {rng.choice(names.ENGLISH_SURNAMES)}"

    def email(self, full_name: str, domain: str, *, style: int = 0) -> str:
        first, _, last = ascii_name(full_name).partition(" ")
        local = (f"{first}.{last}", f"{first}{last}", f"{first[0]}.{last}", f"{first}_{last}")[
            style % 4
        ]
        address = f"{local}@{domain}"
        suffix = 1
        while address in self.emails:
            suffix += 1
            address = f"{local}{suffix}@{domain}"
        self.emails.add(address)
        return address


def ascii_name(text: str) -> str:
    """An email-safe form of a name: Ștefan Țurcanu → stefan turcanu, Łukasz Żak → lukasz zak."""
    text = text.replace("ł", "l").replace("Ł", "L")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum() or c == " ")


def between(rng: random.Random, bounds: tuple[int, int]) -> int:
    return rng.randint(bounds[0], bounds[1])


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    language: str
    time_zone: str
    regions: tuple[tuple[str, str, tuple[str, ...]], ...]
    call_centre_city: str
    mail_domains: tuple[str, ...]
    phone_prefixes: tuple[str, ...]
    customer_share: float


def mobile_phone(rng: random.Random, country: Country, taken: set[str]) -> IdentityKey:
    """A valid, unused mobile number of the country in E.164."""
    while True:
        prefix = rng.choice(country.phone_prefixes)
        # Mobile numbers of both countries have 12 characters in E.164: +40 7xx..., +48 5xx...
        candidate = prefix + "".join(rng.choices("0123456789", k=12 - len(prefix)))
        try:
            key = identity_normalise(kind="phone", value=candidate)
        except ValidationFailed:
            continue
        if key.value not in taken:
            taken.add(key.value)
            return key
