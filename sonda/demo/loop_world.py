"""The world the demo's case lives are drawn in: the bank's people, units, problems, SLA clock,
and its cases as the bulk evaluator opened them."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sonda.accounts.models import User
from sonda.demo.bank import (
    ANALYST_LOGIN,
    BRANCH_MANAGER_LOGIN,
    DEMO_REGION,
    EXECUTIVE_LOGIN,
    FRONTLINE_LOGIN,
    REGION_MANAGER_LOGIN,
    TEAM_LEADER_LOGIN,
)
from sonda.demo.experience import WEAK_REGION
from sonda.demo.questionnaires import BRANCH_SURVEY, CALL_SURVEY, RELATIONSHIP_SURVEY
from sonda.demo.specs import OrganisationSpec
from sonda.demo.writing import DemoOrganisation
from sonda.loop.business_hours import add_business_time, business_time_between
from sonda.loop.models import Case, CaseProblem, Problem
from sonda.loop.routing import CodedProblem
from sonda.loop.sla import SlaClock, escalation_recipient
from sonda.surveys.models import Answer, Survey


@dataclass(frozen=True)
class CaseRow:
    pk: int
    response_id: int
    survey_id: int
    unit_id: int | None
    unit_path: str
    employee_id: int | None
    owner_id: int | None
    queue: bool
    priority: str
    loop: str
    owner_function_id: int | None
    opened_at: datetime
    first_contact_due: datetime | None
    close_due: datetime | None
    language: str
    completed_at: datetime
    ltr: float | None
    coded: tuple[int, ...]


@dataclass
class LoopWorld:
    """What the lives are drawn from: the bank's people, units, problems and SLA clock."""

    organisation_id: int
    clock: SlaClock
    reference: datetime
    problems: dict[str, int]  # code → id
    routing: dict[int, CodedProblem]
    analyst_id: int
    executive_id: int
    region_manager_id: int
    region_path: str
    weak_region_path: str
    setting_of_survey: dict[int, str]
    staff_language: dict[int, str]  # unit → the language its staff write in
    user_of_person: dict[int, int]
    line_managers: dict[str, int]  # demo login → user id, of those who own cases
    frontline_person_id: int
    detractor_max: int = 6
    # Until when the sweep's warnings and escalations of deadlines still unmet at the reference
    # date are drawn: the moment the demo is made, so that the first sweep of `sonda run` does
    # not escalate, all at once, every deadline that passed since the reference date.
    swept_until: datetime | None = None
    _recipients: dict[tuple[Any, ...], tuple[int | None, str]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        *,
        bank: DemoOrganisation,
        spec: OrganisationSpec,
        clock: SlaClock,
        problems: dict[str, int],
        reference: datetime,
        swept_until: datetime | None = None,
    ) -> "LoopWorld":
        organisation = bank.organisation
        users = dict(
            User.objects.filter(
                email__in=[
                    ANALYST_LOGIN,
                    EXECUTIVE_LOGIN,
                    REGION_MANAGER_LOGIN,
                    BRANCH_MANAGER_LOGIN,
                    TEAM_LEADER_LOGIN,
                ]
            ).values_list("email", "pk")
        )
        routing = {
            pk: CodedProblem(pk, fixable, function_id if function_id and active else None)
            for pk, fixable, function_id, active in Problem.objects.filter(
                organisation=organisation
            ).values_list(
                "pk", "frontline_fixable", "owner_function_id", "owner_function__is_active"
            )
        }
        settings = {
            BRANCH_SURVEY: "branch",
            CALL_SURVEY: "call",
            RELATIONSHIP_SURVEY: "relationship",
        }
        frontline = next(p.number for p in spec.people if p.login == FRONTLINE_LOGIN)
        return cls(
            organisation_id=organisation.pk,
            clock=clock,
            reference=reference,
            swept_until=swept_until,
            problems=problems,
            routing=routing,
            analyst_id=users[ANALYST_LOGIN],
            executive_id=users[EXECUTIVE_LOGIN],
            region_manager_id=users[REGION_MANAGER_LOGIN],
            region_path=bank.units[DEMO_REGION].path,
            weak_region_path=bank.units[WEAK_REGION].path if WEAK_REGION in bank.units else "-",
            setting_of_survey={
                pk: settings[name]
                for pk, name in Survey.objects.filter(organisation=organisation).values_list(
                    "pk", "name"
                )
                if name in settings
            },
            staff_language={
                unit.pk: {"RO": "ro", "PL": "pl"}.get(code[:2], "en")
                for code, unit in bank.units.items()
            },
            user_of_person={
                person.pk: person.user_id
                for person in bank.people.values()
                if person.user_id is not None
            },
            line_managers={
                login: users[login]
                for login in (BRANCH_MANAGER_LOGIN, TEAM_LEADER_LOGIN, REGION_MANAGER_LOGIN)
            },
            frontline_person_id=bank.people[frontline].pk,
        )

    def after(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of the bank's working time after `start`."""
        return add_business_time(self.clock.calendar, start, timedelta(hours=hours))

    def warning_moment(self, priority: str, due: datetime) -> datetime | None:
        """When the sweep warns of a deadline: the priority's lead of working time before it."""
        lead = timedelta(hours=self.clock.targets[priority].warn_before_hours)
        if not lead:
            return None
        calendar = self.clock.calendar
        moment = due - lead
        # Back a day at a time over nights, weekends and holidays, then forward to the moment
        # with exactly the lead left.
        for _day in range(30):
            left = business_time_between(calendar, moment, due)
            if left >= lead:
                return moment if left == lead else add_business_time(calendar, moment, left - lead)
            moment -= timedelta(days=1)
        return None

    def recipient(
        self, case: CaseRow, *, owner_id: int | None, level: int, escalated_to: int | None
    ) -> tuple[int | None, str]:
        """Who an escalation step goes to, as the sweep decides it (kept per situation)."""
        key = (owner_id, level > 0, escalated_to, case.employee_id, case.unit_path)
        if key not in self._recipients:
            probe = Case(
                organisation_id=self.organisation_id,
                owner_id=owner_id,
                escalation_level=level,
                escalated_to_id=escalated_to,
                employee_id=case.employee_id,
                unit_id=case.unit_id,
                unit_path=case.unit_path,
            )
            self._recipients[key] = escalation_recipient(probe)
        return self._recipients[key]

    def queue_owner(self, case: CaseRow) -> int:
        """Who takes a case out of the queue: the region head in the demo region, else the CX
        team (never someone the case is about)."""
        about = self.user_of_person.get(case.employee_id or 0)
        if case.unit_path.startswith(self.region_path) and about != self.region_manager_id:
            return self.region_manager_id
        return self.analyst_id


def cases_load(world: LoopWorld, case_ids: Sequence[int]) -> list[CaseRow]:
    if not case_ids:
        return []
    first = min(case_ids)
    coded: dict[int, list[int]] = defaultdict(list)
    for case_id, problem_id in (
        CaseProblem.objects.filter(organisation_id=world.organisation_id, case_id__gte=first)
        .order_by("id")
        .values_list("case_id", "problem_id")
    ):
        coded[case_id].append(problem_id)
    cases = list(
        Case.objects.filter(organisation_id=world.organisation_id, pk__gte=first)
        .order_by("pk")
        .values_list(
            "pk",
            "response_id",
            "survey_id",
            "unit_id",
            "unit_path",
            "employee_id",
            "owner_id",
            "queue",
            "priority",
            "loop",
            "owner_function_id",
            "opened_at",
            "first_contact_due",
            "close_due",
            "response__language",
            "response__completed_at",
        )
    )
    first_response = min(row[1] for row in cases) if cases else 0
    ltr = dict(
        Answer.objects.filter(
            organisation_id=world.organisation_id,
            question_key="ltr",
            response_id__gte=first_response,
        ).values_list("response_id", "value_number")
    )
    return [
        CaseRow(
            *row[:15],
            completed_at=row[15] or row[11],  # complete responses have it; else the opening
            ltr=ltr.get(row[1]),
            coded=tuple(coded[row[0]]),
        )
        for row in cases
    ]
