"""Cases for the API and page tests, and callers for every user who has a part in them."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from sonda.accounts.models import User
from sonda.accounts.services import api_token_create
from sonda.api.testing import Caller
from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.models import Case, Function, Problem
from sonda.loop.tests.loop_helpers import OPENED, Bank, make_bank
from sonda.loop.workflow import case_code_root_causes

# user → (cases seen, cases they may change): the case access rules of `sonda.loop.selectors`.
MATRIX = {
    "admin": ({"bogdans", "ioanas", "anas"}, {"bogdans", "ioanas", "anas"}),
    "analyst": ({"bogdans", "ioanas", "anas"}, {"bogdans", "ioanas", "anas"}),
    "executive": ({"bogdans", "ioanas", "anas"}, set()),
    "manager_north": ({"bogdans", "anas"}, {"bogdans", "anas"}),
    "manager_south": ({"ioanas"}, {"ioanas"}),
    # Ana: a member of Billing (reads its case), never the case about herself.
    "frontline": ({"ioanas"}, set()),
    # Bogdan supervises Ana: her case is his to call; the case about him he never sees.
    "bogdan": ({"anas"}, {"anas"}),
    # The other organisation's admin sees none of this organisation's cases.
    "outsider": (set(), set()),
}


@dataclass
class Cases:
    """Four cases: Bogdan's (north, to Maria), Ioana's (south, to Sorin, coded as a billing
    problem of the Billing function, of which Ana is a member), Ana's (north, to her supervisor
    Bogdan) and one of the other organisation."""

    bank: Bank
    by_name: dict[str, Case]
    billing: Function
    wrong_bill: Problem

    @property
    def world(self) -> Any:
        return self.bank.world

    def user(self, who: str) -> User:
        if who == "bogdan":
            assert self.bank.bogdan.user is not None
            return self.bank.bogdan.user
        user: User = self.world.users_by_role[who]
        return user

    def api(self, who: str) -> Caller:
        """Requests to /api/v1 with a personal token of `who` (none for "anonymous")."""
        if who == "anonymous":
            return Caller(Client(), None)
        org = self.world.other_org if who == "outsider" else self.world.org
        issued = api_token_create(scope=self.world.scope(self.user(who), org), name="tests")
        return Caller(Client(), issued.secret)

    def browser(self, who: str) -> Client:
        client = Client()
        client.force_login(self.user(who))
        return client

    def name_of(self, case_id: int) -> str:
        return next(name for name, case in self.by_name.items() if case.pk == case_id)


def make_cases(world: Any) -> Cases:
    bank = make_bank(world)
    billing = bank.function("Billing", member_ids=[world.frontline.pk])
    wrong_bill = bank.problem("billing.wrong", owner_function_id=billing.pk)
    bogdans = bank.case(employee_id=bank.bogdan.pk)
    ioanas = bank.case(employee_id=bank.ioana.pk)
    case_code_root_causes(scope=bank.analyst, case_id=ioanas.pk, problem_ids=[wrong_bill.pk])
    anas = bank.case(
        {"ltr": 2, "reasons": ["staff"], "comment": "She sent me home without checking."},
        employee_id=world.frontline_person.pk,
    )
    stranger = Case.objects.create(
        organisation=world.other_org,
        customer=CustomerFactory(organisation=world.other_org),
        opened_at=OPENED,
    )
    by_name = {"bogdans": bogdans, "ioanas": ioanas, "anas": anas, "other_org": stranger}
    # The cases opened in the past; their deadlines lie ahead unless a test says otherwise.
    ahead = timezone.now() + timedelta(days=30)
    Case.objects.filter(organisation=world.org).update(first_contact_due=ahead, close_due=ahead)
    for case in by_name.values():
        case.refresh_from_db()
    return Cases(bank=bank, by_name=by_name, billing=billing, wrong_bill=wrong_bill)
