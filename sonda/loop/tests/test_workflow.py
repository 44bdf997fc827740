"""The case workflow: every allowed and forbidden move, closing, reopening, notes, versions."""

from datetime import timedelta

import pytest

from sonda.core.errors import Conflict, PermissionDenied, ValidationFailed
from sonda.loop.models import Case, CaseEvent, CaseProblem, CaseState
from sonda.loop.taxonomy import problem_update
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.workflow import (
    TRANSITIONS,
    case_add_note,
    case_close,
    case_code_root_causes,
    case_record_outcome,
    case_reopen,
    case_transition,
)

STATES = [s.value for s in CaseState]
ALLOWED = {
    ("new", "in_contact"),
    ("in_contact", "resolved"),
    ("in_contact", "not_resolved"),
    ("resolved", "closed"),
    ("not_resolved", "closed"),
    ("closed", "in_contact"),
}
LATER = OPENED + timedelta(hours=2)


@pytest.fixture
def bank(world):
    return make_bank(world)


def put_in(case: Case, state: str) -> Case:
    """Set a case's state for a test's start (with what that state implies)."""
    changes: dict[str, object] = {"state": state}
    if state != "new":
        changes["first_contact_at"] = OPENED
    if state in ("resolved", "not_resolved", "closed"):
        changes["resolved_at"] = OPENED
    if state == "closed":
        changes.update(closed_at=OPENED, recovery_outcome="fixed")
    Case.objects.filter(pk=case.pk).update(**changes)
    case.refresh_from_db()
    return case


def coded(bank, case: Case) -> Case:
    problem = bank.problem("waiting")
    CaseProblem.objects.create(organisation=case.organisation, case=case, problem=problem)
    return case


def snapshot(case: Case) -> tuple[str, int, int]:
    case.refresh_from_db()
    return (case.state, case.version, CaseEvent.objects.filter(case=case).count())


def test_the_workflow_is_the_documented_one():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("target", STATES)
def test_each_move_is_allowed_or_refused_by_the_workflow(bank, current, target):
    case = put_in(coded(bank, bank.case(employee_id=bank.bogdan.pk)), current)
    owner = bank.scope(bank.world.manager_north)
    before = snapshot(case)

    def move():
        return case_transition(
            scope=owner,
            case_id=case.pk,
            state=target,
            reason="The customer rang again",
            recovery_outcome="fixed",
            now=LATER,
        )

    if (current, target) in ALLOWED:
        moved = move()
        assert moved.state == target
        assert snapshot(case) == (target, before[1] + 1, before[2] + 1)
    else:
        with pytest.raises(Conflict) as refused:
            move()
        assert [e.field for e in refused.value.errors] == ["state"]
        assert snapshot(case) == before


def test_a_refusal_says_where_the_case_may_go(bank):
    case = bank.case()
    with pytest.raises(Conflict) as refused:
        case_transition(scope=bank.analyst, case_id=case.pk, state="closed")
    assert refused.value.errors[0].message == (
        "A case cannot go from New to Closed; from New it can go to In contact."
    )
    case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact")
    with pytest.raises(Conflict) as again:
        case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact")
    assert again.value.errors[0].message == "The case is already In contact."


def test_closing_without_a_root_cause_fails_with_a_clear_message(bank):
    case = put_in(bank.case(), "resolved")
    before = snapshot(case)
    with pytest.raises(ValidationFailed) as refused:
        case_close(scope=bank.analyst, case_id=case.pk, recovery_outcome="fixed")
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("root_causes", "Code at least one root cause before closing the case.")
    ]
    assert snapshot(case) == before


def test_closing_needs_the_recovery_outcome(bank):
    case = put_in(coded(bank, bank.case()), "not_resolved")
    before = snapshot(case)
    with pytest.raises(ValidationFailed) as refused:
        case_transition(scope=bank.analyst, case_id=case.pk, state="closed")
    assert [e.field for e in refused.value.errors] == ["recovery_outcome"]
    assert snapshot(case) == before
    with pytest.raises(ValidationFailed) as unknown:
        case_close(scope=bank.analyst, case_id=case.pk, recovery_outcome="sort of")
    assert [e.field for e in unknown.value.errors] == ["recovery_outcome"]


def test_a_recorded_outcome_lets_the_case_close_later(bank):
    case = put_in(coded(bank, bank.case()), "resolved")
    case_record_outcome(scope=bank.analyst, case_id=case.pk, recovery_outcome="partly")
    closed = case_transition(scope=bank.analyst, case_id=case.pk, state="closed", now=LATER)
    assert (closed.state, closed.recovery_outcome, closed.closed_at) == ("closed", "partly", LATER)


def test_the_whole_callback_keeps_its_times_and_timeline(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    maria = bank.scope(bank.world.manager_north)
    waiting = bank.problem("waiting")
    t = [OPENED + timedelta(minutes=m) for m in (10, 20, 30, 40, 50)]
    case_transition(scope=maria, case_id=case.pk, state="in_contact", now=t[0])
    note = "Apologised; 40 minutes in the queue."
    case_add_note(scope=maria, case_id=case.pk, text=note, now=t[1])
    case_code_root_causes(scope=maria, case_id=case.pk, problem_ids=[waiting.pk], now=t[2])
    case_transition(scope=maria, case_id=case.pk, state="resolved", now=t[3])
    closed = case_close(scope=maria, case_id=case.pk, recovery_outcome="fixed", now=t[4])

    assert (closed.first_contact_at, closed.resolved_at, closed.closed_at) == (t[0], t[3], t[4])
    assert closed.version == 6
    timeline = list(CaseEvent.objects.filter(case=case).values_list("kind", "actor", "text"))
    assert timeline == [
        ("opened", None, ""),
        ("routed", None, ""),
        ("state_changed", bank.world.manager_north.pk, ""),
        ("note", bank.world.manager_north.pk, note),
        ("coded", bank.world.manager_north.pk, ""),
        ("state_changed", bank.world.manager_north.pk, ""),
        ("state_changed", bank.world.manager_north.pk, ""),
    ]
    assert CaseEvent.objects.filter(case=case).latest("at", "id").data == {
        "from": "resolved",
        "to": "closed",
        "recovery_outcome": "fixed",
    }


def test_reopening_needs_a_reason(bank):
    case = put_in(coded(bank, bank.case()), "closed")
    before = snapshot(case)
    for reason in ("", "   "):
        with pytest.raises(ValidationFailed) as refused:
            case_reopen(scope=bank.analyst, case_id=case.pk, reason=reason)
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("reason", "Say why the case is reopened.")
        ]
        with pytest.raises(ValidationFailed):
            case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact", reason=reason)
    assert snapshot(case) == before


def test_reopening_brings_the_case_back_into_contact_and_counts_it(bank):
    case = put_in(coded(bank, bank.case()), "closed")
    reopened = case_reopen(
        scope=bank.analyst, case_id=case.pk, reason="The refund never arrived", now=LATER
    )
    assert (reopened.state, reopened.reopened_count, reopened.closed_at) == ("in_contact", 1, None)
    assert reopened.recovery_outcome == ""
    event = CaseEvent.objects.filter(case=case).latest("at", "id")
    assert (event.kind, event.text, event.data) == (
        "reopened",
        "The refund never arrived",
        {"from": "closed", "to": "in_contact", "previous_outcome": "fixed"},
    )


def test_only_a_closed_case_is_reopened(bank):
    case = put_in(bank.case(), "in_contact")
    with pytest.raises(Conflict) as refused:
        case_reopen(scope=bank.analyst, case_id=case.pk, reason="why not")
    assert [e.field for e in refused.value.errors] == ["state"]


def test_a_stale_version_is_refused_and_changes_nothing(bank):
    case = bank.case()
    case_add_note(scope=bank.analyst, case_id=case.pk, text="First", expected_version=1)
    before = snapshot(case)
    with pytest.raises(Conflict) as stale:
        case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact", expected_version=1)
    assert [e.field for e in stale.value.errors] == ["version"]
    assert snapshot(case) == before
    moved = case_transition(
        scope=bank.analyst, case_id=case.pk, state="in_contact", expected_version=2
    )
    assert moved.version == 3


def test_a_note_needs_text(bank):
    case = bank.case()
    with pytest.raises(ValidationFailed) as refused:
        case_add_note(scope=bank.analyst, case_id=case.pk, text="  ")
    assert [e.field for e in refused.value.errors] == ["text"]
    assert CaseEvent.objects.filter(case=case, kind="note").count() == 0


def test_a_case_seen_read_only_refuses_changes(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    executive = bank.scope(bank.world.executive)
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        case_add_note(scope=executive, case_id=case.pk, text="Looks bad")
    with pytest.raises(PermissionDenied):
        case_transition(scope=executive, case_id=case.pk, state="in_contact")
    assert snapshot(case) == before


def test_an_unknown_state_is_named(bank):
    case = bank.case()
    with pytest.raises(ValidationFailed) as refused:
        case_transition(scope=bank.analyst, case_id=case.pk, state="done")
    assert [e.field for e in refused.value.errors] == ["state"]


def test_a_retired_problem_already_coded_is_kept_but_never_newly_coded(bank):
    case = bank.case()
    waiting = bank.problem("waiting")
    rude = bank.problem("rude")
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk])
    problem_update(scope=bank.analyst, problem_id=waiting.pk, is_active=False)
    problem_update(scope=bank.analyst, problem_id=rude.pk, is_active=False)
    # Saving the coding again, with one more problem, keeps the retired one it already had.
    other = bank.problem("billing")
    rows = case_code_root_causes(
        scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk, other.pk]
    )
    assert [row.problem_id for row in rows] == [waiting.pk, other.pk]
    before = snapshot(case)
    with pytest.raises(ValidationFailed) as refused:
        case_code_root_causes(
            scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk, rude.pk]
        )
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("root_causes[1]", "this problem is no longer used")
    ]
    assert snapshot(case) == before
    assert set(CaseProblem.objects.filter(case=case).values_list("problem", flat=True)) == {
        waiting.pk,
        other.pk,
    }
