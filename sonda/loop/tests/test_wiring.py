"""The loop's periodic work: every completed response evaluated once, silent accounts and executive
callbacks once a day, whatever the clock, the workers and the transactions do."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from sonda.accounts.models import Role
from sonda.accounts.tests.factories import MembershipFactory, UserFactory
from sonda.customers.tests.factories import CustomerFactory
from sonda.listening.services import invitation_create
from sonda.loop.callbacks import executive_callback_assign
from sonda.loop.models import (
    Case,
    CaseEvent,
    ExecutiveCallback,
    LoopSettings,
    Notification,
    Praise,
    ResponseEvaluation,
)
from sonda.loop.opening import cases_open_for_response
from sonda.loop.sweeps import (
    EVALUATION_WINDOW,
    callbacks_sweep,
    loop_sweep,
    response_evaluate_once,
    silence_sweep,
)
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.workflow import case_transition
from sonda.surveys.models import Response
from sonda.surveys.responses import (
    ResponseContext,
    response_finish,
    response_save_page,
    response_start,
)
from sonda.surveys.tests.respondent import Respondent

SWEEP = OPENED  # 30 minutes after the bank's responses were completed


@pytest.fixture
def bank(world):
    return make_bank(world)


def timeline(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


# Evaluating every completed response -------------------------------------------------------------


def test_a_response_finished_on_the_survey_page_gets_its_case_at_the_next_sweep_once(bank):
    bank.rule()
    invitation = invitation_create(
        organisation=bank.world.org,
        survey=bank.survey,
        language="en",
        employee_id=bank.bogdan.pk,
        customer_id=CustomerFactory(organisation=bank.world.org).pk,
    )
    browser = Respondent()
    browser.open(reverse("respond:survey", kwargs={"token": invitation.token}))
    browser.follow(browser.answer({"ltr": "2", "reasons": ["waiting"]}))
    done = browser.answer({"speed": "1", "comment": "Nobody answered the phone."})
    assert done.status_code == 303

    first = loop_sweep()

    case = Case.objects.get()
    assert first.cases == [case.pk]
    assert case.response == Response.objects.get(invitation=invitation)
    assert case.employee_id == bank.bogdan.pk
    # Bogdan's direct supervisor calls the customer back, and hears about it.
    assert case.owner == bank.world.manager_north
    assert list(Notification.objects.values_list("recipient", "kind", "case")) == [
        (bank.world.manager_north.pk, "case_assigned", case.pk)
    ]
    events = timeline(case)

    again = loop_sweep()

    assert (again.evaluated, again.cases) == (0, [])
    assert Case.objects.count() == 1
    assert timeline(case) == events
    assert Notification.objects.count() == 1


def test_each_completed_response_is_evaluated_once_whichever_opens_a_case(bank):
    bank.rule()
    detractors = [bank.respond({"ltr": n}) for n in (1, 5)]
    passive = bank.respond({"ltr": 8})

    result = loop_sweep(now=SWEEP)

    assert result.evaluated == 3
    assert sorted(Case.objects.values_list("response_id", flat=True)) == [r.pk for r in detractors]
    assert set(ResponseEvaluation.objects.values_list("response_id", flat=True)) == {
        detractors[0].pk,
        detractors[1].pk,
        passive.pk,
    }
    # A rule written afterwards does not reach back to a response already evaluated.
    bank.rule("Passives too", [{"kind": "loyalty", "question": "ltr", "classes": ["passive"]}])
    assert loop_sweep(now=SWEEP).evaluated == 0
    assert Case.objects.count() == 2


def test_a_response_started_early_and_finished_late_is_not_missed(bank):
    """Ids are handed out when a response starts: a later id may well complete first."""
    bank.rule()
    early = response_start(
        survey=bank.survey, context=ResponseContext(language="en"), now=SWEEP - timedelta(hours=2)
    )
    response_save_page(response_id=early.pk, page=1, raw={"ltr": "0"})
    quick = bank.respond({"ltr": 2})
    assert early.pk < quick.pk

    first = loop_sweep(now=SWEEP)
    assert [Case.objects.get(pk=pk).response_id for pk in first.cases] == [quick.pk]

    response_finish(response_id=early.pk, page=2, raw={"speed": "1"}, now=SWEEP)
    later = loop_sweep(now=SWEEP + timedelta(minutes=1))

    assert [Case.objects.get(pk=pk).response_id for pk in later.cases] == [early.pk]
    assert Case.objects.count() == 2


class WorkerKilled(Exception):
    pass


def dying_worker(response_id: int) -> None:
    """Evaluates the response and is killed before its transaction commits."""
    with transaction.atomic():
        response_evaluate_once(response_id=response_id, now=SWEEP)
        assert Case.objects.filter(response_id=response_id).exists()
        raise WorkerKilled


def test_a_worker_that_dies_mid_batch_leaves_the_rest_for_the_next_run(bank):
    bank.rule()
    responses = [bank.respond({"ltr": n}) for n in (0, 1, 2, 3)]

    # The first run stops after two responses (a worker stopped, or its share ran out) ...
    assert loop_sweep(now=SWEEP, most=2).evaluated == 2
    # ... and a worker dies in the middle of evaluating the third: nothing of it stays.
    with pytest.raises(WorkerKilled):
        dying_worker(responses[2].pk)
    assert not Case.objects.filter(response=responses[2]).exists()
    assert not ResponseEvaluation.objects.filter(response=responses[2]).exists()

    rest = loop_sweep(now=SWEEP)

    assert rest.evaluated == 2
    assert sorted(Case.objects.values_list("response_id", flat=True)) == [r.pk for r in responses]
    assert CaseEvent.objects.filter(kind="opened").count() == 4
    assert loop_sweep(now=SWEEP).evaluated == 0


def test_a_response_evaluated_twice_at_once_or_by_hand_opens_one_case(bank):
    bank.rule()
    response = bank.respond({"ltr": 1})
    by_hand = response_evaluate_once(response_id=response.pk, now=SWEEP)
    assert by_hand is not None
    assert response_evaluate_once(response_id=response.pk, now=SWEEP) == by_hand
    assert loop_sweep(now=SWEEP).evaluated == 0
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind="opened").count() == 1


def test_history_older_than_the_window_opens_no_case_and_old_memory_is_forgotten(bank):
    bank.rule()
    old = bank.respond({"ltr": 1}, completed_at=SWEEP - EVALUATION_WINDOW - timedelta(minutes=1))
    recent = bank.respond({"ltr": 1}, completed_at=SWEEP - EVALUATION_WINDOW + timedelta(hours=1))

    loop_sweep(now=SWEEP)

    assert list(Case.objects.values_list("response_id", flat=True)) == [recent.pk]
    assert not ResponseEvaluation.objects.filter(response=old).exists()
    # Two hours later the recent response has left the window too: its memory goes with it.
    loop_sweep(now=SWEEP + timedelta(hours=2))
    assert ResponseEvaluation.objects.count() == 0
    assert Case.objects.count() == 1


def test_praise_is_recorded_and_the_employee_and_their_supervisor_hear_of_it_once(bank):
    bank.rule()
    promoter = bank.respond({"ltr": 10}, employee_id=bank.bogdan.pk)

    loop_sweep(now=SWEEP)
    loop_sweep(now=SWEEP)

    praise = Praise.objects.get()
    assert (praise.response_id, praise.employee_id) == (promoter.pk, bank.bogdan.pk)
    told = Notification.objects.order_by("recipient__email")
    assert [(n.recipient.email, n.kind, n.case_id) for n in told] == [
        ("bogdan@banca.example", "praise", None),
        ("north@banca.example", "praise", None),
    ]
    assert [n.data["you"] for n in told] == [True, False]


# Daily jobs --------------------------------------------------------------------------------------


def test_silent_accounts_are_looked_for_once_a_day_in_the_organisations_time_zone(bank):
    bank.world.org.time_zone = "Europe/Bucharest"
    bank.world.org.save(update_fields=["time_zone"])
    bank.rule("Silent", [{"kind": "non_response", "days": 30}], program_id=bank.survey.program_id)
    quiet = CustomerFactory(organisation=bank.world.org)
    bank.respond({"ltr": 8}, customer_id=quiet.pk, completed_at=OPENED - timedelta(days=31))
    late_evening = datetime(2026, 10, 5, 20, 30, tzinfo=UTC)  # 23:30 in Bucharest

    assert silence_sweep(now=late_evening) == {bank.world.org.pk: 1}
    assert LoopSettings.objects.get().silence_checked_on == date(2026, 10, 5)
    # Another customer falls silent the same day: the next tick that day does not look again.
    other = CustomerFactory(organisation=bank.world.org)
    bank.respond({"ltr": 8}, customer_id=other.pk, completed_at=OPENED - timedelta(days=31))
    assert silence_sweep(now=late_evening + timedelta(minutes=20)) == {}
    # 00:30 in Bucharest is the next day there.
    assert silence_sweep(now=late_evening + timedelta(hours=1)) == {bank.world.org.pk: 1}
    assert Case.objects.filter(response__isnull=True).count() == 2


def test_an_organisation_without_rules_of_a_program_is_not_looked_at(bank):
    bank.rule()
    assert silence_sweep(now=SWEEP) == {}


def executive(bank, email: str):
    user = UserFactory(email=email)
    MembershipFactory(organisation=bank.world.org, user=user, role=Role.EXECUTIVE)
    return user


def test_executives_get_their_months_callbacks_spread_across_units(bank):
    LoopSettings.objects.create(organisation=bank.world.org, executive_callbacks_per_month=2)
    second = executive(bank, "cfo@banca.example")
    north = [bank.case({"ltr": 1}, unit_id=bank.world.north_branch.pk) for _ in range(3)]
    south = [bank.case({"ltr": 2}, unit_id=bank.world.south_branch.pk) for _ in range(2)]
    bank.case({"ltr": 6}, unit_id=bank.world.south_branch.pk)  # a detractor too (0-6)
    passive_rule = bank.rule(
        "Passives", [{"kind": "loyalty", "question": "ltr", "classes": ["passive"]}]
    )
    passive = bank.case({"ltr": 8}, unit_id=bank.world.south_branch.pk)
    assert passive.alert_rule_id == passive_rule.pk

    allotted = callbacks_sweep(now=OPENED + timedelta(hours=1))

    assert allotted == {bank.world.org.pk: 4}
    callbacks = ExecutiveCallback.objects.order_by("pk")
    assert [c.month for c in callbacks] == [date(2026, 10, 1)] * 4
    # The oldest first, and each executive calls a customer of each region, not two of one.
    assert {
        user.pk: {c.case_id for c in callbacks if c.executive_id == user.pk}
        for user in (bank.world.executive, second)
    } == {
        bank.world.executive.pk: {north[0].pk, south[1].pk},
        second.pk: {south[0].pk, north[1].pk},
    }
    assert passive.pk not in {c.case_id for c in callbacks}
    event = CaseEvent.objects.filter(kind="callback").first()
    assert event is not None
    assert event.actor_id is None
    assert event.data["via"] == "allotment"
    # Each executive hears of their callbacks.
    assert Notification.objects.filter(kind="callback").count() == 4
    # The quota is full: the next day adds nothing.
    assert callbacks_sweep(now=OPENED + timedelta(days=1)) == {bank.world.org.pk: 0}


def test_callbacks_are_topped_up_once_a_day_and_respect_what_was_assigned_by_hand(bank):
    LoopSettings.objects.create(organisation=bank.world.org, executive_callbacks_per_month=2)
    first = bank.case({"ltr": 1})
    executive_callback_assign(
        scope=bank.analyst,
        case_id=first.pk,
        executive_id=bank.world.executive.pk,
        month=date(2026, 10, 5),
    )
    assert callbacks_sweep(now=OPENED) == {bank.world.org.pk: 0}  # nothing else to give
    bank.case({"ltr": 2})
    assert callbacks_sweep(now=OPENED + timedelta(hours=3)) == {}  # already ran today
    assert callbacks_sweep(now=OPENED + timedelta(days=1)) == {bank.world.org.pk: 1}
    assert ExecutiveCallback.objects.filter(executive=bank.world.executive).count() == 2


def test_an_executive_is_never_given_a_case_about_their_own_work(bank):
    person = bank.bogdan
    person.user = bank.world.executive
    person.save(update_fields=["user"])
    about_them = bank.case({"ltr": 1}, employee_id=person.pk)
    assert callbacks_sweep(now=OPENED) == {bank.world.org.pk: 0}
    assert not ExecutiveCallback.objects.filter(case=about_them).exists()


def test_cases_of_last_month_or_already_in_contact_are_not_allotted(bank):
    bank.case({"ltr": 1})  # opened on 5 October
    november = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    called = cases_open_for_response(response_id=bank.respond({"ltr": 2}).pk, now=november)
    assert called is not None
    case_transition(scope=bank.analyst, case_id=called.pk, state="in_contact", now=november)

    assert callbacks_sweep(now=november) == {bank.world.org.pk: 0}
    assert ExecutiveCallback.objects.count() == 0
