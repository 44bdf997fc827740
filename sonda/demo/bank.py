"""The demo bank: Carpathia Bank, in Romania and Poland, with an English-speaking HQ."""

import random
from collections.abc import Sequence

from sonda.accounts.models import Role
from sonda.customers.identities import IdentityKey
from sonda.demo import names
from sonda.demo.specs import (
    Country,
    CustomerSpec,
    MembershipSpec,
    NameDrawer,
    OrganisationSpec,
    PersonSpec,
    Scale,
    UnitSpec,
    between,
    mobile_phone,
)

DEMO_ORGANISATION_SLUG = "carpathia-bank"
DEMO_ORGANISATION_NAME = "Carpathia Bank"
EMPLOYEE_DOMAIN = "carpathia-bank.example"

# The region, branch and call-centre team the demo managers and frontline user work in: the first
# of each, so they exist at every scale.
DEMO_REGION = "RO-BI"
DEMO_BRANCH = "RO-BI-01"
DEMO_TEAM = "RO-CC-T1"

ADMIN_LOGIN = "admin@demo.sonda.dev"
ANALYST_LOGIN = "analyst@demo.sonda.dev"
EXECUTIVE_LOGIN = "executive@demo.sonda.dev"
REGION_MANAGER_LOGIN = "region.manager@demo.sonda.dev"
BRANCH_MANAGER_LOGIN = "branch.manager@demo.sonda.dev"
TEAM_LEADER_LOGIN = "team.leader@demo.sonda.dev"
FRONTLINE_LOGIN = "frontline@demo.sonda.dev"


COUNTRIES = (
    Country(
        code="RO",
        name="Romania",
        language="ro",
        time_zone="Europe/Bucharest",
        regions=names.ROMANIAN_REGIONS,
        call_centre_city="Iași",
        mail_domains=names.ROMANIAN_MAIL_DOMAINS,
        phone_prefixes=("+4072", "+4073", "+4074", "+4075", "+4076", "+4077", "+4078"),
        customer_share=0.55,
    ),
    Country(
        code="PL",
        name="Poland",
        language="pl",
        time_zone="Europe/Warsaw",
        regions=names.POLISH_REGIONS,
        call_centre_city="Kraków",
        mail_domains=names.POLISH_MAIL_DOMAINS,
        phone_prefixes=("+4850", "+4851", "+4853", "+4860", "+4866", "+4869", "+4872", "+4879"),
        customer_share=0.45,
    ),
)
TIERS = (("mass", 70), ("affluent", 18), ("private", 3), ("business", 9))


def bank_spec(*, rng: random.Random, scale: Scale) -> OrganisationSpec:
    """The bank's structure, staff, customers and demo users, drawn from `rng`."""
    spec = OrganisationSpec(
        name=DEMO_ORGANISATION_NAME,
        slug=DEMO_ORGANISATION_SLUG,
        default_language="en",
        time_zone="Europe/Bucharest",
        unit_types={
            "company": "Company",
            "function": "HQ function",
            "country": "Country",
            "region": "Region",
            "branch": "Branch",
            "call_centre": "Call centre",
            "team": "Call-centre team",
        },
        units=[],
        people=[],
    )
    people = NameDrawer(rng)
    numbers = iter(range(1, 100_000))

    def hire(
        nationality: str, job_title: str, unit: str, supervisor: str | None, manages: bool = False
    ) -> PersonSpec:
        full_name = people.person(nationality)
        person = PersonSpec(
            number=f"E{next(numbers):05d}",
            full_name=full_name,
            email=people.email(full_name, EMPLOYEE_DOMAIN),
            job_title=job_title,
            unit=unit,
            supervisor=supervisor,
            manages=unit if manages else None,
        )
        spec.people.append(person)
        return person

    def hq_nationality() -> str:
        return rng.choices(("en", "ro", "pl"), weights=(50, 25, 25))[0]

    spec.units.append(UnitSpec("HQ", f"{DEMO_ORGANISATION_NAME} HQ", "company", None))
    ceo = hire("en", "Chief Executive Officer", "HQ", None, manages=True)
    ceo.login = EXECUTIVE_LOGIN

    for code, name, head_title, staff_title in names.HQ_FUNCTIONS[: scale.hq_functions]:
        spec.units.append(UnitSpec(code, name, "function", "HQ"))
        head = hire(hq_nationality(), head_title, code, ceo.number, manages=True)
        for index in range(between(rng, scale.staff_per_function)):
            staff = hire(hq_nationality(), staff_title, code, head.number)
            if code == "HQ-CX" and index == 0:
                staff.login = ANALYST_LOGIN

    for country in COUNTRIES:
        spec.units.append(UnitSpec(country.code, country.name, "country", "HQ"))
        country_head = hire(
            country.language, f"Country Head {country.name}", country.code, ceo.number, True
        )
        for region_code, region_name, cities in country.regions[: scale.regions_per_country]:
            spec.units.append(UnitSpec(region_code, region_name, "region", country.code))
            region_head = hire(
                country.language, "Region Head", region_code, country_head.number, True
            )
            if region_code == DEMO_REGION:
                region_head.login = REGION_MANAGER_LOGIN
            for index, city in enumerate(cities[: scale.branches_per_region], start=1):
                branch = f"{region_code}-{index:02d}"
                spec.units.append(UnitSpec(branch, city, "branch", region_code))
                manager = hire(country.language, "Branch Manager", branch, region_head.number, True)
                for position in range(between(rng, scale.staff_per_branch)):
                    title = (
                        "Personal Banker"
                        if position == 0
                        else rng.choices(
                            [t for t, _ in names.BRANCH_ROLES],
                            weights=[w for _, w in names.BRANCH_ROLES],
                        )[0]
                    )
                    staff = hire(country.language, title, branch, manager.number)
                    if branch == DEMO_BRANCH and position == 0:
                        staff.login = FRONTLINE_LOGIN
                if branch == DEMO_BRANCH:
                    manager.login = BRANCH_MANAGER_LOGIN

        centre = f"{country.code}-CC"
        spec.units.append(
            UnitSpec(centre, f"Call Centre {country.call_centre_city}", "call_centre", country.code)
        )
        centre_manager = hire(
            country.language, "Call Centre Manager", centre, country_head.number, True
        )
        for index in range(1, between(rng, scale.teams_per_call_centre) + 1):
            team = f"{centre}-T{index}"
            team_name = names.CALL_CENTRE_TEAMS[index - 1]
            spec.units.append(
                UnitSpec(team, f"{team_name} · {country.call_centre_city}", "team", centre)
            )
            leader = hire(country.language, "Team Leader", team, centre_manager.number, True)
            if team == DEMO_TEAM:
                leader.login = TEAM_LEADER_LOGIN
            for _ in range(between(rng, scale.agents_per_team)):
                hire(country.language, "Call Centre Agent", team, leader.number)

    spec.customers = _bank_customers(rng=rng, scale=scale, units=spec.units)
    by_login = {p.login: p for p in spec.people if p.login}
    admin = ADMIN_LOGIN
    spec.memberships = [
        MembershipSpec(admin, "Demo Administrator", Role.ADMIN),
        MembershipSpec(
            ANALYST_LOGIN,
            by_login[ANALYST_LOGIN].full_name,
            Role.ANALYST,
        ),
        MembershipSpec(
            EXECUTIVE_LOGIN,
            by_login[EXECUTIVE_LOGIN].full_name,
            Role.EXECUTIVE,
        ),
        MembershipSpec(
            REGION_MANAGER_LOGIN,
            by_login[REGION_MANAGER_LOGIN].full_name,
            Role.MANAGER,
            DEMO_REGION,
        ),
        MembershipSpec(
            BRANCH_MANAGER_LOGIN,
            by_login[BRANCH_MANAGER_LOGIN].full_name,
            Role.MANAGER,
            DEMO_BRANCH,
        ),
        MembershipSpec(
            TEAM_LEADER_LOGIN,
            by_login[TEAM_LEADER_LOGIN].full_name,
            Role.MANAGER,
            DEMO_TEAM,
        ),
        MembershipSpec(
            FRONTLINE_LOGIN,
            by_login[FRONTLINE_LOGIN].full_name,
            Role.FRONTLINE,
        ),
    ]
    return spec


def _bank_customers(
    *, rng: random.Random, scale: Scale, units: Sequence[UnitSpec]
) -> list[CustomerSpec]:
    """Retail and business customers of the bank, each with a home branch in their country."""
    by_code = {u.code: u for u in units}
    branches = {
        country.code: [
            u for u in units if u.unit_type == "branch" and u.code.startswith(f"{country.code}-")
        ]
        for country in COUNTRIES
    }
    people = NameDrawer(rng)
    phones: set[str] = set()
    customers = []
    for number in range(1, scale.customers + 1):
        country = rng.choices(COUNTRIES, weights=[c.customer_share for c in COUNTRIES])[0]
        language = country.language if rng.random() < 0.93 else "en"
        nationality = language if language != "en" or rng.random() < 0.7 else country.language
        full_name = people.person(nationality)
        branch = rng.choice(branches[country.code])
        region = by_code[branch.parent or ""]
        tier = rng.choices([t for t, _ in TIERS], weights=[w for _, w in TIERS])[0]
        products = _bank_products(rng, tier)
        identities = [IdentityKey("external", "crm", f"{country.code}{number:08d}")]
        consents: list[tuple[str, bool]] = []
        if "card" in products or rng.random() < 0.2:
            identities.append(IdentityKey("external", "billing", f"BL{number:09d}"))
        if rng.random() < 0.85:
            domain = rng.choice(
                names.ENGLISH_MAIL_DOMAINS if language == "en" else country.mail_domains
            )
            address = people.email(full_name, domain, style=rng.randrange(4))
            identities.append(IdentityKey("email", "", address))
            consents.append(("email", rng.random() < 0.9))
        if rng.random() < 0.8:
            identities.append(mobile_phone(rng, country, phones))
            consents.append(("sms", rng.random() < 0.85))
            consents.append(("phone", rng.random() < 0.75))
        customers.append(
            CustomerSpec(
                full_name=full_name,
                preferred_language=language,
                time_zone=country.time_zone,
                attributes={
                    "tier": tier,
                    "products": products,
                    "country": country.code,
                    "region": region.name,
                    "branch": branch.code,
                    "tenure_years": min(int(rng.expovariate(1 / 7)), 35),
                },
                do_not_contact=rng.random() < 0.02,
                identities=tuple(identities),
                consents=tuple(consents),
            )
        )
    return customers


def _bank_products(rng: random.Random, tier: str) -> list[str]:
    if tier == "business":
        chances = {"current_account": 1.0, "card": 0.6, "loan": 0.45, "savings": 0.3}
    else:
        wealthy = tier in {"affluent", "private"}
        chances = {
            "current_account": 0.95,
            "card": 0.85 if wealthy else 0.65,
            "mortgage": 0.3 if wealthy else 0.12,
            "loan": 0.15 if wealthy else 0.22,
            "savings": 0.7 if wealthy else 0.3,
        }
    products = [p for p, chance in chances.items() if rng.random() < chance]
    return products or ["current_account"]
