"""Two SLA sweeps at the same moment, on two PostgreSQL connections: each warning and each
escalation step is taken once."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from django.db import connection

from sonda.loop.models import CaseEvent
from sonda.loop.sla import SweepResult, sla_sweep
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import open_case

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


def test_two_sweeps_at_once_warn_and_escalate_each_case_once(world):
    bank = make_bank(world)
    cases = [
        open_case(bank, OPENED, employee_id=world.frontline_person.pk),
        open_case(bank, OPENED, employee_id=bank.bogdan.pk),
        open_case(bank, OPENED, employee_id=bank.ioana.pk),
    ]
    warning_time = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)
    breach_time = datetime(2026, 10, 12, 11, 0, tzinfo=UTC)

    for now in (warning_time, breach_time):
        results = at_once([partial(sla_sweep, now=now)] * 2)
        assert all(isinstance(result, SweepResult) for result in results), results
        assert not [r.failed for r in results if r.failed]

    for case in cases:
        case.refresh_from_db()
        kinds = list(
            CaseEvent.objects.filter(case=case, kind__in=["warned", "escalated"])
            .order_by("id")
            .values_list("kind", "data__deadline")
        )
        assert kinds == [
            ("warned", "first_contact"),
            ("escalated", "first_contact"),
            ("escalated", "close"),
        ]
        assert case.escalation_level == 2
