"""Who sees and changes which case: each role against cases of their own, of another subtree,
about themselves, of their function and of another organisation."""

from datetime import date

import pytest

from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.models import Case, CaseEvent, CaseEventKind, CoachingNote, ExecutiveCallback
from sonda.loop.selectors import (
    can_edit,
    case_get,
    case_list,
    case_lock_for_edit,
    coaching_note_list,
)
from sonda.loop.taxonomy import function_update
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.workflow import (
    case_add_note,
    case_code_root_causes,
    coaching_note_acknowledge,
    coaching_note_create,
)


@pytest.fixture
def cases(world):
    """Four cases: Bogdan's (north, to Maria), Ioana's (south, to Sorin, coded as a billing
    problem), Ana's (north, to her supervisor Bogdan) and one of the other organisation."""
    bank = make_bank(world)
    billing = bank.function("Billing", member_ids=[world.frontline.pk])
    wrong_bill = bank.problem("billing.wrong", owner_function_id=billing.pk)
    bogdans = bank.case(employee_id=bank.bogdan.pk)
    ioanas = bank.case(employee_id=bank.ioana.pk)
    case_code_root_causes(scope=bank.analyst, case_id=ioanas.pk, problem_ids=[wrong_bill.pk])
    anas = bank.case(employee_id=world.frontline_person.pk)
    stranger = Case.objects.create(
        organisation=world.other_org,
        customer=CustomerFactory(organisation=world.other_org),
        opened_at=OPENED,
    )
    return bank, {"bogdans": bogdans, "ioanas": ioanas, "anas": anas, "other_org": stranger}


# user → (cases seen, cases they may change)
MATRIX = {
    "admin": ({"bogdans", "ioanas", "anas"}, {"bogdans", "ioanas", "anas"}),
    "analyst": ({"bogdans", "ioanas", "anas"}, {"bogdans", "ioanas", "anas"}),
    "executive": ({"bogdans", "ioanas", "anas"}, set()),
    "manager_north": ({"bogdans", "anas"}, {"bogdans", "anas"}),
    "manager_south": ({"ioanas"}, {"ioanas"}),
    # Ana: a member of Billing (reads its case), never her own case.
    "frontline": ({"ioanas"}, set()),
    # Bogdan supervises Ana: her case is his to call; his own case he never sees.
    "bogdan": ({"anas"}, {"anas"}),
}


def users(bank):
    return {**bank.world.users_by_role, "bogdan": bank.bogdan.user}


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_each_role_sees_and_changes_its_own_cases(cases, who):
    bank, by_name = cases
    scope = bank.scope(users(bank)[who])
    names = {case.pk: name for name, case in by_name.items()}
    listed = {names[c.pk]: can_edit(c) for c in case_list(scope=scope)}
    seen, editable = MATRIX[who]
    assert set(listed) == seen
    assert {name for name, can in listed.items() if can} == editable

    for name, case in by_name.items():
        if name not in seen:
            with pytest.raises(NotFound):
                case_get(scope=scope, case_id=case.pk)
            with pytest.raises(NotFound):
                case_add_note(scope=scope, case_id=case.pk, text="Called")
        elif name not in editable:
            assert case_get(scope=scope, case_id=case.pk).pk == case.pk
            with pytest.raises(PermissionDenied):
                case_add_note(scope=scope, case_id=case.pk, text="Called")
        else:
            case_add_note(scope=scope, case_id=case.pk, text=f"Called by {who}")
    notes = {
        names[c.pk]
        for c in Case.objects.filter(events__kind="note", events__text=f"Called by {who}")
    }
    assert notes == editable
    assert by_name["other_org"].events.count() == 0


def test_the_other_organisation_sees_only_its_own(cases):
    bank, by_name = cases
    outsider = bank.world.scope(bank.world.outsider, bank.world.other_org)
    assert [c.pk for c in case_list(scope=outsider)] == [by_name["other_org"].pk]
    for name in ("bogdans", "ioanas", "anas"):
        with pytest.raises(NotFound):
            case_get(scope=outsider, case_id=by_name[name].pk)


def test_an_executive_changes_their_callbacks(cases):
    bank, by_name = cases
    ExecutiveCallback.objects.create(
        organisation=bank.world.org,
        case=by_name["ioanas"],
        executive=bank.world.executive,
        month=date(2026, 10, 1),
    )
    scope = bank.scope(bank.world.executive)
    editable = {c.pk for c in case_list(scope=scope) if can_edit(c)}
    assert editable == {by_name["ioanas"].pk}
    case_add_note(scope=scope, case_id=by_name["ioanas"].pk, text="I called her myself.")


def test_leaving_a_function_takes_its_cases_out_of_view(cases):
    bank, by_name = cases
    by_name["ioanas"].refresh_from_db()
    function_update(
        scope=bank.analyst, function_id=by_name["ioanas"].owner_function_id, member_ids=[]
    )
    assert list(case_list(scope=bank.scope(bank.world.frontline))) == []


def test_a_lock_for_edit_is_refused_for_a_read_only_case(cases):
    bank, by_name = cases
    with pytest.raises(PermissionDenied):
        case_lock_for_edit(scope=bank.scope(bank.world.frontline), case_id=by_name["ioanas"].pk)


def test_coaching_notes_reach_the_employee_but_not_other_subtrees(cases):
    bank, by_name = cases
    bogdan = bank.scope(bank.bogdan.user)
    note = coaching_note_create(
        scope=bogdan,
        case_id=by_name["anas"].pk,
        behaviour="Told the customer to come back tomorrow without checking the system.",
        agreed_action="Check the card status before sending a customer away.",
        due_on=date(2026, 10, 12),
    )
    seen = {
        who: [n.pk for n in coaching_note_list(scope=bank.scope(user))]
        for who, user in users(bank).items()
        if who != "outsider"
    }
    assert seen == {
        "admin": [note.pk],
        "analyst": [note.pk],
        "executive": [note.pk],
        "manager_north": [note.pk],
        "manager_south": [],
        "frontline": [note.pk],
        "bogdan": [note.pk],
    }
    acknowledged = coaching_note_acknowledge(
        scope=bank.scope(bank.world.frontline), note_id=note.pk
    )
    assert acknowledged.acknowledged_at is not None
    with pytest.raises(NotFound):
        coaching_note_acknowledge(scope=bogdan, note_id=note.pk)


def test_only_the_supervisor_or_the_owner_records_coaching_whoever_calls_the_service(cases):
    bank, by_name = cases
    anas = by_name["anas"]  # routed to Bogdan, Ana's supervisor
    for may_change_but_does_not_coach in ("analyst", "admin", "manager_north"):
        scope = bank.scope(users(bank)[may_change_but_does_not_coach])
        with pytest.raises(PermissionDenied):
            coaching_note_create(
                scope=scope, case_id=anas.pk, behaviour="Sent home.", agreed_action="Check."
            )
    assert not CoachingNote.objects.exists()
    assert not CaseEvent.objects.filter(case=anas, kind=CaseEventKind.COACHING).exists()
    # The case's owner coaches on the supervisor's behalf once the case is theirs.
    Case.objects.filter(pk=anas.pk).update(owner=bank.world.analyst)
    note = coaching_note_create(
        scope=bank.analyst, case_id=anas.pk, behaviour="Sent home.", agreed_action="Check."
    )
    assert (note.employee_id, note.supervisor) == (
        bank.world.frontline_person.pk,
        bank.world.analyst,
    )


def test_coaching_needs_a_case_about_an_employee(cases):
    bank, _ = cases
    nobody = bank.case(unit_id=bank.world.north_branch.pk)
    with pytest.raises(ValidationFailed) as refused:
        coaching_note_create(
            scope=bank.analyst, case_id=nobody.pk, behaviour="x", agreed_action="y"
        )
    assert [e.field for e in refused.value.errors] == ["case_id"]


def test_a_case_escalated_to_someone_is_theirs_to_see_and_act_on(cases):
    bank, by_name = cases
    # Ioana's case (south) escalated to Bogdan, a frontline supervisor in the north.
    Case.objects.filter(pk=by_name["ioanas"].pk).update(
        escalated_to=bank.bogdan.user, escalation_level=1
    )
    scope = bank.scope(bank.bogdan.user)
    listed = {c.pk: can_edit(c) for c in case_list(scope=scope)}
    assert listed[by_name["ioanas"].pk] is True
    case_add_note(scope=scope, case_id=by_name["ioanas"].pk, text="Taking this over.")
    # Never a case about themselves, escalated or not.
    Case.objects.filter(pk=by_name["bogdans"].pk).update(escalated_to=bank.bogdan.user)
    with pytest.raises(NotFound):
        case_get(scope=scope, case_id=by_name["bogdans"].pk)
