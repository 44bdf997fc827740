"""Two people working on one case at the same moment, on two PostgreSQL connections."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from sonda.core.errors import Conflict
from sonda.loop.models import Case, CaseEvent
from sonda.loop.opening import cases_open_for_response
from sonda.loop.tests.loop_helpers import make_bank
from sonda.loop.workflow import case_add_note, case_transition

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads (each its own connection) released together; results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:  # the test inspects what each side got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def bank(world):
    return make_bank(world)


def test_two_notes_added_at_once_are_both_kept(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    maria, analyst = bank.scope(bank.world.manager_north), bank.analyst

    results = at_once(
        [
            lambda: case_add_note(scope=maria, case_id=case.pk, text="Called, no answer."),
            lambda: case_add_note(scope=analyst, case_id=case.pk, text="Customer wrote again."),
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(
        CaseEvent.objects.filter(case=case, kind="note").values_list("text", flat=True)
    ) == [
        "Called, no answer.",
        "Customer wrote again.",
    ]
    case.refresh_from_db()
    assert case.version == 3


def test_the_same_move_made_twice_at_once_happens_once(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    maria, analyst = bank.scope(bank.world.manager_north), bank.analyst

    results = at_once(
        [
            lambda: case_transition(scope=maria, case_id=case.pk, state="in_contact"),
            lambda: case_transition(scope=analyst, case_id=case.pk, state="in_contact"),
        ]
    )

    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1
    assert [e.field for e in refused[0].errors] == ["state"]
    case.refresh_from_db()
    assert (case.state, case.version) == ("in_contact", 2)
    assert CaseEvent.objects.filter(case=case, kind="state_changed").count() == 1


def test_two_different_moves_at_once_are_served_one_after_the_other(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact")
    maria, analyst = bank.scope(bank.world.manager_north), bank.analyst

    results = at_once(
        [
            lambda: case_transition(scope=maria, case_id=case.pk, state="resolved"),
            lambda: case_transition(scope=analyst, case_id=case.pk, state="not_resolved"),
        ]
    )

    won = [r for r in results if isinstance(r, Case)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert (len(won), len(lost)) == (1, 1)
    assert isinstance(lost[0], Conflict)
    case.refresh_from_db()
    assert case.state == won[0].state
    moves = list(
        CaseEvent.objects.filter(case=case, kind="state_changed").values_list("data", flat=True)
    )
    assert moves[-1] == {"from": "in_contact", "to": case.state}
    assert len(moves) == 2


def test_a_note_and_a_stale_move_at_once_keep_the_note(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    maria, analyst = bank.scope(bank.world.manager_north), bank.analyst

    results = at_once(
        [
            lambda: case_add_note(
                scope=maria, case_id=case.pk, text="Apologised.", expected_version=1
            ),
            lambda: case_transition(
                scope=analyst, case_id=case.pk, state="in_contact", expected_version=1
            ),
        ]
    )

    # Whichever wrote first, the other saw version 2 and was refused on `version`.
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 1
    assert [e.field for e in refused[0].errors] == ["version"]
    case.refresh_from_db()
    assert case.version == 2


def test_one_response_evaluated_by_two_workers_at_once_opens_one_case(bank):
    bank.rule()
    response = bank.respond({"ltr": 0}, employee_id=bank.bogdan.pk)

    results = at_once([lambda: cases_open_for_response(response_id=response.pk)] * 2)

    assert [r.pk for r in results] == [Case.objects.get().pk] * 2
    assert CaseEvent.objects.filter(kind="opened").count() == 1
