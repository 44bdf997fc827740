"""Who answered the demo bank's surveys, where, when and through which channel.

Branch visits follow opening hours (Monday mornings busiest), calls the contact centre's hours, and
the relationship survey comes in waves that tail off after each invitation. A respondent reached by
email or SMS is a customer with that channel's consent (mostly of the branch they visit); QR codes
and kiosks give anonymous answers that know the branch but not who served.
"""

import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sonda.demo.experience import (
    BRANCH_DAYS,
    BRANCH_HOURS,
    BRANCH_MONDAY_HOURS,
    BRANCH_SATURDAY_HOURS,
    CALL_DAYS,
    CALL_HOURS,
    CALL_WEEKEND_HOURS,
    HOME_HOURS,
    WEAK_REGION,
    WEAK_REGION_EFFECT,
    Day,
    calendar,
    day_weights,
    wave_weights,
)
from sonda.demo.specs import OrganisationSpec, UnitSpec

BRANCH_CHANNELS = {"email": 38.0, "sms": 32.0, "link": 18.0, "kiosk": 12.0}
CALL_CHANNELS = {"ivr": 45.0, "sms": 35.0, "email": 20.0}
QR_TOUCHPOINT = "Branch QR code"
KIOSK_TOUCHPOINT = "Branch kiosk"
ROLE_TOUCHPOINTS = {
    "Teller": ("Branch cash desk", 1.3),
    "Personal Banker": ("Branch personal banker", 1.0),
    "Mortgage Advisor": ("Mortgage advice", 0.5),
    "Business Banker": ("Business banking desk", 0.4),
}
TEAM_TOUCHPOINTS = {
    "Everyday Banking": "Everyday banking line",
    "Cards & Payments": "Cards and payments line",
    "Mortgages & Loans": "Mortgages and loans line",
    "Premium Clients": "Premium clients line",
    "Business Clients": "Business clients line",
    "Collections": "Collections line",
}
# Journeys and their stages by touchpoint: (journey, stages, share of the touchpoint's answers).
JOURNEYS: dict[str, tuple[tuple[str, tuple[str, ...], float], ...]] = {
    "Mortgage advice": (("mortgage", ("enquiry", "application", "approval", "signing"), 0.9),),
    "Branch personal banker": (
        ("account opening", ("onboarding",), 0.12),
        ("moving house", ("address change",), 0.08),
    ),
    "Branch cash desk": (("moving house", ("address change",), 0.04),),
    "Business banking desk": (("business loan", ("application", "approval"), 0.3),),
    "Everyday banking line": (("moving house", ("address change",), 0.1),),
    "Cards and payments line": (("card replacement", ("card blocked", "new card sent"), 0.25),),
    "Mortgages and loans line": (("mortgage", ("application", "approval", "repayment"), 0.5),),
}
COUNTRY_LANGUAGES = {"RO": "ro", "PL": "pl"}


@dataclass(slots=True)
class Visit:
    """One interaction that a response answers, before the answers are drawn."""

    started: datetime
    setting: str  # branch, call or relationship
    day: Day
    hour: int  # local
    unit: str  # branch or team code
    employee: str | None  # the employee number of who served
    employee_known: bool  # whether the response names them
    customer: int  # index into the population; -1 when the answer is anonymous
    channel: str
    touchpoint: str
    journey: str
    stage: str
    language: str
    country: str


@dataclass(frozen=True)
class Population:
    """The bank's customers as the demo samples them: who can be asked on which channel."""

    ids: list[int]
    languages: list[str]
    tiers: list[str]
    branches: list[str]
    by_branch: dict[tuple[str, str], list[int]]  # (branch, channel) → customer indexes
    by_country: dict[tuple[str, str], list[int]]  # (country, channel) → customer indexes


def population(spec: OrganisationSpec, ids: Sequence[int]) -> Population:
    """Customers by the channels they may be surveyed on; do-not-contact customers on none."""
    by_branch: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_country: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, customer in enumerate(spec.customers):
        if customer.do_not_contact:
            continue
        kinds = {key.kind for key in customer.identities}
        consents = dict(customer.consents)
        # The IVR survey follows the customer's own call: no separate consent is asked for.
        channels = ["ivr"]
        if "email" in kinds and consents.get("email"):
            channels.append("email")
        if "phone" in kinds and consents.get("sms"):
            channels.append("sms")
        for channel in channels:
            by_branch[customer.attributes["branch"], channel].append(index)
            by_country[customer.attributes["country"], channel].append(index)
    return Population(
        ids=list(ids),
        languages=[c.preferred_language for c in spec.customers],
        tiers=[c.attributes["tier"] for c in spec.customers],
        branches=[c.attributes["branch"] for c in spec.customers],
        by_branch=dict(by_branch),
        by_country=dict(by_country),
    )


@dataclass(frozen=True)
class Effects:
    units: dict[str, float]  # region, branch and team codes → shift of every latent score
    employees: dict[str, float]  # employee number → shift of competence and friendliness


def effects(rng: random.Random, spec: OrganisationSpec, frontline: Sequence[str]) -> Effects:
    """How much better or worse each region, branch, team and frontline employee serves."""
    units: dict[str, float] = {}
    for unit in sorted((u for u in spec.units if u.unit_type == "region"), key=lambda u: u.code):
        units[unit.code] = WEAK_REGION_EFFECT if unit.code == WEAK_REGION else rng.gauss(0, 0.04)
    for unit in spec.units:
        if unit.unit_type == "branch" and unit.parent is not None:
            units[unit.code] = units[unit.parent] + rng.gauss(0, 0.07)
        elif unit.unit_type == "team":
            units[unit.code] = rng.gauss(0, 0.08)
    ordered = sorted(frontline)
    employees = {number: rng.gauss(0, 0.08) for number in ordered}
    # A few employees stand out, consistently: coaching and praise later have someone to find.
    outliers = max(1, round(len(ordered) * 0.05))
    chosen = rng.sample(ordered, min(len(ordered), 2 * outliers))
    for number in chosen[:outliers]:
        employees[number] = 0.6
    for number in chosen[outliers:]:
        employees[number] = -0.7
    return Effects(units, employees)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


T = TypeVar("T")


class Weighted(Generic[T]):
    """Items drawn in proportion to their weights, with one uniform number per draw."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = _cumulative(weights)
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


def _weighted(weights: dict[T, float]) -> Weighted[T]:
    return Weighted(list(weights), list(weights.values()))


def _country(units: dict[str, UnitSpec], code: str) -> str:
    current: str | None = code
    while current is not None:
        if units[current].unit_type == "country":
            return current
        current = units[current].parent
    raise ValueError(f"unit {code} is in no country")


class Sampler:
    """Draws branch visits, calls and relationship answers over the demo period."""

    def __init__(self, rng: random.Random, spec: OrganisationSpec, customers: Population) -> None:
        self.rng = rng
        self.customers = customers
        self.days = calendar()
        units = {u.code: u for u in spec.units}
        staff: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        for person in spec.people:
            if person.manages is None and units[person.unit].unit_type in {"branch", "team"}:
                touchpoint, weight = ROLE_TOUCHPOINTS.get(person.job_title, ("", 1.0))
                staff[person.unit].append((person.number, touchpoint, weight))
        self.staff = dict(staff)
        self.country_of = {code: _country(units, code) for code in self.staff}
        self.branches = sorted(c for c in self.staff if units[c].unit_type == "branch")
        self.teams = sorted(c for c in self.staff if units[c].unit_type == "team")
        self.team_touchpoint = {
            code: TEAM_TOUCHPOINTS.get(units[code].name.split(" · ")[0], "Phone banking")
            for code in self.teams
        }
        # Who serves is drawn by role at branches (tellers see most visitors), evenly in teams.
        self.servers = {
            code: Weighted(people, [weight for _, _, weight in people])
            for code, people in self.staff.items()
        }
        self.branch_hours = {
            weekday: _weighted(
                {0: BRANCH_MONDAY_HOURS, 5: BRANCH_SATURDAY_HOURS}.get(weekday, BRANCH_HOURS)
            )
            for weekday in range(7)
        }
        self.call_hours = {
            weekday: _weighted(CALL_HOURS if weekday < 5 else CALL_WEEKEND_HOURS)
            for weekday in range(7)
        }
        self.home_hours = _weighted(HOME_HOURS)

    @property
    def frontline(self) -> list[str]:
        return [number for people in self.staff.values() for number, _, _ in people]

    def _journey(self, touchpoint: str) -> tuple[str, str]:
        for journey, stages, share in JOURNEYS.get(touchpoint, ()):
            if self.rng.random() < share:
                return journey, self.rng.choice(stages)
        return "", ""

    def _customer(self, branch: str | None, country: str, channel: str) -> int:
        pool: list[int] = []
        if branch is not None and self.rng.random() < 0.8:
            pool = self.customers.by_branch.get((branch, channel), [])
        if not pool:
            pool = self.customers.by_country.get((country, channel), [])
        return self.rng.choice(pool) if pool else -1

    def _language(self, customer: int, country: str) -> str:
        if customer >= 0:
            return self.customers.languages[customer]
        return "en" if self.rng.random() < 0.1 else COUNTRY_LANGUAGES[country]

    def _started(self, day: Day, country: str, hour: int) -> datetime:
        return day.midnight_utc[country] + timedelta(
            hours=hour, minutes=self.rng.randrange(60), seconds=self.rng.randrange(60)
        )

    def _days(self, weights: Sequence[float], count: int) -> list[Day]:
        return self.rng.choices(self.days, cum_weights=_cumulative(weights), k=count)

    def branch_visits(self, count: int) -> list[Visit]:
        rng = self.rng
        branches = Weighted(self.branches, [len(self.staff[b]) for b in self.branches])
        channels = _weighted(BRANCH_CHANNELS)
        visits = []
        for day in self._days(day_weights(self.days, BRANCH_DAYS), count):
            branch = branches.draw(rng)
            country = self.country_of[branch]
            number, touchpoint, _ = self.servers[branch].draw(rng)
            hour = self.branch_hours[day.day.weekday()].draw(rng)
            channel = channels.draw(rng)
            journey, stage = self._journey(touchpoint)
            customer = -1
            if channel in {"email", "sms"}:
                customer = self._customer(branch, country, channel)
                if customer < 0:
                    channel = "kiosk"
            if channel == "link":
                touchpoint = QR_TOUCHPOINT
            elif channel == "kiosk":
                touchpoint = KIOSK_TOUCHPOINT
            visits.append(
                Visit(
                    started=self._started(day, country, hour),
                    setting="branch",
                    day=day,
                    hour=hour,
                    unit=branch,
                    employee=number,
                    employee_known=customer >= 0,
                    customer=customer,
                    channel=channel,
                    touchpoint=touchpoint,
                    journey=journey,
                    stage=stage,
                    language=self._language(customer, country),
                    country=country,
                )
            )
        return visits

    def calls(self, count: int) -> list[Visit]:
        rng = self.rng
        teams = Weighted(self.teams, [len(self.staff[t]) for t in self.teams])
        channels = _weighted(CALL_CHANNELS)
        visits = []
        for day in self._days(day_weights(self.days, CALL_DAYS), count):
            team = teams.draw(rng)
            country = self.country_of[team]
            number = self.servers[team].draw(rng)[0]
            hour = self.call_hours[day.day.weekday()].draw(rng)
            channel = channels.draw(rng)
            touchpoint = self.team_touchpoint[team]
            journey, stage = self._journey(touchpoint)
            customer = self._customer(None, country, channel)
            visits.append(
                Visit(
                    started=self._started(day, country, hour),
                    setting="call",
                    day=day,
                    hour=hour,
                    unit=team,
                    employee=number,
                    employee_known=True,
                    customer=customer,
                    channel=channel,
                    touchpoint=touchpoint,
                    journey=journey,
                    stage=stage,
                    language=self._language(customer, country),
                    country=country,
                )
            )
        return visits

    def relationship(self, count: int) -> list[Visit]:
        """Customers answering at home, about their home branch; the survey names no employee."""
        rng = self.rng
        visits = []
        for day in self._days(wave_weights(self.days), count):
            channel = "email" if rng.random() < 0.75 else "sms"
            country = "RO" if rng.random() < 0.55 else "PL"
            customer = self._customer(None, country, channel)
            if customer < 0:
                continue
            hour = self.home_hours.draw(rng)
            visits.append(
                Visit(
                    started=self._started(day, country, hour),
                    setting="relationship",
                    day=day,
                    hour=hour,
                    unit=self.customers.branches[customer],
                    employee=None,
                    employee_known=False,
                    customer=customer,
                    channel=channel,
                    touchpoint="",
                    journey="",
                    stage="",
                    language=self.customers.languages[customer],
                    country=country,
                )
            )
        return visits
