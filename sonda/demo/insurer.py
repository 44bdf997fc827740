"""The demo insurer: Bałtyk Ubezpieczenia, a small Polish insurer, the second tenant."""

import random

from sonda.accounts.models import Role
from sonda.customers.identities import IdentityKey
from sonda.demo.bank import ADMIN_LOGIN, COUNTRIES
from sonda.demo.specs import (
    CustomerSpec,
    MembershipSpec,
    NameDrawer,
    OrganisationSpec,
    PersonSpec,
    Scale,
    UnitSpec,
    mobile_phone,
)

DEMO_INSURER_SLUG = "baltyk-ubezpieczenia"
DEMO_INSURER_NAME = "Bałtyk Ubezpieczenia"
INSURER_EMPLOYEE_DOMAIN = "baltyk.example"
INSURER_PRODUCTS = (("motor", 0.7), ("home", 0.45), ("life", 0.2), ("travel", 0.25))


def insurer_spec(*, rng: random.Random, scale: Scale) -> OrganisationSpec:
    """A small Polish insurer: a second tenant, so switching and isolation can be seen."""
    spec = OrganisationSpec(
        name=DEMO_INSURER_NAME,
        slug=DEMO_INSURER_SLUG,
        default_language="pl",
        time_zone="Europe/Warsaw",
        unit_types={
            "spolka": "Spółka",
            "region": "Region",
            "agencja": "Agencja",
            "centrum": "Centrum likwidacji szkód",
            "zespol": "Zespół",
        },
        units=[
            UnitSpec("CENTRALA", "Centrala Gdańsk", "spolka", None),
            UnitSpec("R-POLNOC", "Region Północ", "region", "CENTRALA"),
            UnitSpec("A-GDANSK", "Agencja Gdańsk Wrzeszcz", "agencja", "R-POLNOC"),
            UnitSpec("A-OLSZTYN", "Agencja Olsztyn", "agencja", "R-POLNOC"),
            UnitSpec("R-POLUDNIE", "Region Południe", "region", "CENTRALA"),
            UnitSpec("A-KRAKOW", "Agencja Kraków Podgórze", "agencja", "R-POLUDNIE"),
            UnitSpec("A-RZESZOW", "Agencja Rzeszów", "agencja", "R-POLUDNIE"),
            UnitSpec("SZKODY", "Centrum Likwidacji Szkód", "centrum", "CENTRALA"),
            UnitSpec("SZKODY-KOM", "Szkody komunikacyjne", "zespol", "SZKODY"),
            UnitSpec("SZKODY-MAJ", "Szkody majątkowe", "zespol", "SZKODY"),
        ],
        people=[],
    )
    names_ = NameDrawer(rng)
    numbers = iter(range(1, 10_000))

    def hire(title: str, unit: str, supervisor: str | None, manages: bool = False) -> PersonSpec:
        full_name = names_.person("pl")
        person = PersonSpec(
            number=f"P{next(numbers):04d}",
            full_name=full_name,
            email=names_.email(full_name, INSURER_EMPLOYEE_DOMAIN),
            job_title=title,
            unit=unit,
            supervisor=supervisor,
            manages=unit if manages else None,
        )
        spec.people.append(person)
        return person

    president = hire("Prezes Zarządu", "CENTRALA", None, manages=True)
    for region, agencies in (
        ("R-POLNOC", ("A-GDANSK", "A-OLSZTYN")),
        ("R-POLUDNIE", ("A-KRAKOW", "A-RZESZOW")),
    ):
        director = hire("Dyrektor Regionu", region, president.number, manages=True)
        for agency in agencies:
            head = hire("Kierownik Agencji", agency, director.number, manages=True)
            for _ in range(2):
                hire("Agent Ubezpieczeniowy", agency, head.number)
    claims = hire("Dyrektor Likwidacji Szkód", "SZKODY", president.number, manages=True)
    for team in ("SZKODY-KOM", "SZKODY-MAJ"):
        leader = hire("Kierownik Zespołu", team, claims.number, manages=True)
        hire("Likwidator Szkód", team, leader.number)

    phones: set[str] = set()
    polish = COUNTRIES[1]
    for number in range(1, scale.insurer_customers + 1):
        full_name = names_.person("pl")
        products = [p for p, chance in INSURER_PRODUCTS if rng.random() < chance] or ["motor"]
        identities = [IdentityKey("external", "polisy", f"POL/{number:06d}")]
        consents: list[tuple[str, bool]] = []
        if rng.random() < 0.8:
            address = names_.email(
                full_name, rng.choice(polish.mail_domains), style=rng.randrange(4)
            )
            identities.append(IdentityKey("email", "", address))
            consents.append(("email", rng.random() < 0.85))
        if rng.random() < 0.9:
            identities.append(mobile_phone(rng, polish, phones))
            consents.append(("sms", rng.random() < 0.8))
        spec.customers.append(
            CustomerSpec(
                full_name=full_name,
                preferred_language="pl",
                time_zone=polish.time_zone,
                attributes={
                    "products": products,
                    "agency": rng.choice(("A-GDANSK", "A-OLSZTYN", "A-KRAKOW", "A-RZESZOW")),
                    "tenure_years": min(int(rng.expovariate(1 / 5)), 30),
                },
                do_not_contact=rng.random() < 0.02,
                identities=tuple(identities),
                consents=tuple(consents),
            )
        )
    spec.memberships = [MembershipSpec(ADMIN_LOGIN, "Demo Administrator", Role.ADMIN)]
    return spec
