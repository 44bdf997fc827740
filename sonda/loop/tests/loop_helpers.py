"""The loop's test bank: the `world` plus supervisors, employees, a survey, rules and responses."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.accounts.tests.factories import MembershipFactory, UserFactory
from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.models import AlertRule, Case, Function, Problem
from sonda.loop.opening import cases_open_for_response
from sonda.loop.rules import alert_rule_create
from sonda.loop.taxonomy import function_create, problem_create
from sonda.org.models import Person
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.models import Response, Survey
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import store

OPENED = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
DETRACTORS = [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}]
LABELS = {"en": "Waiting time", "ro": "Timpul de așteptare", "pl": "Czas oczekiwania"}


@dataclass
class Bank:
    """The world's bank with people to route to and a published survey.

    north ── north-1: Maria (manager_north's person) supervises Bogdan; Ana (frontline) works
    there too, supervised by Bogdan. south ── south-1: Sorin (manager_south's person) manages
    south-1; Ioana works there with no supervisor on record.
    """

    world: Any
    survey: Survey
    maria: Person
    bogdan: Person
    sorin: Person
    ioana: Person

    @property
    def analyst(self) -> Scope:
        return self.world.scope(self.world.analyst)

    def scope(self, user: Any) -> Scope:
        return self.world.scope(user)

    def rule(
        self,
        name: str = "Detractors",
        conditions: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> AlertRule:
        return alert_rule_create(
            scope=self.analyst, name=name, conditions=conditions or DETRACTORS, **options
        )

    def respond(self, answers: dict[str, Any] | None = None, **context: Any) -> Response:
        context.setdefault("language", "en")
        context.setdefault("customer_id", CustomerFactory(organisation=self.world.org).pk)
        return store(self.survey, answers if answers is not None else {"ltr": 3}, **context)

    def case(self, answers: dict[str, Any] | None = None, **context: Any) -> Case:
        """A case opened by a detractor's response (the detractor rule is made if missing)."""
        if not AlertRule.objects.filter(organisation=self.world.org).exists():
            self.rule()
        response = self.respond(answers, **context)
        case = cases_open_for_response(response_id=response.pk, now=OPENED)
        assert case is not None
        return case

    def function(self, name: str = "Operations", **options: Any) -> Function:
        return function_create(scope=self.analyst, name=name, **options)

    def problem(self, code: str, **options: Any) -> Problem:
        options.setdefault("labels", {k: f"{v} ({code})" for k, v in LABELS.items()})
        return problem_create(scope=self.analyst, code=code, **options)


def make_bank(world: Any) -> Bank:
    survey = make_published_survey(world.scope(world.analyst))
    maria = PersonFactory(
        organisation=world.org, unit=world.north, user=world.manager_north, full_name="Maria Pop"
    )
    bogdan_user = UserFactory(email="bogdan@banca.example")
    MembershipFactory(organisation=world.org, user=bogdan_user, role=Role.FRONTLINE)
    bogdan = PersonFactory(
        organisation=world.org,
        unit=world.north_branch,
        supervisor=maria,
        user=bogdan_user,
        full_name="Bogdan Ionescu",
    )
    world.frontline_person.supervisor = bogdan
    world.frontline_person.save(update_fields=["supervisor"])
    sorin = PersonFactory(
        organisation=world.org, unit=world.south, user=world.manager_south, full_name="Sorin Dinu"
    )
    world.south_branch.manager = sorin
    world.south_branch.save(update_fields=["manager"])
    ioana = PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Ioana Marin")
    return Bank(world=world, survey=survey, maria=maria, bogdan=bogdan, sorin=sorin, ioana=ioana)
