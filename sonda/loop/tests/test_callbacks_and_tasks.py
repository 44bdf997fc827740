"""Executive callbacks within the monthly quota; the loop's background jobs."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from sonda.core.errors import Conflict, PermissionDenied, ValidationFailed
from sonda.loop.callbacks import executive_callback_assign
from sonda.loop.models import Case, CaseEvent, ExecutiveCallback, LoopSettings, Praise
from sonda.loop.selectors import can_edit, case_get, executive_callback_list
from sonda.loop.tasks import evaluate_response, open_silence_cases
from sonda.loop.tests.loop_helpers import make_bank

OCTOBER = date(2026, 10, 17)


@pytest.fixture
def bank(world):
    return make_bank(world)


def assign(bank, case, **options):
    options.setdefault("executive_id", bank.world.executive.pk)
    options.setdefault("month", OCTOBER)
    return executive_callback_assign(scope=bank.analyst, case_id=case.pk, **options)


def test_an_executive_gets_a_callback_they_may_work_on(bank):
    case = bank.case(employee_id=bank.bogdan.pk)
    callback = assign(bank, case)
    assert (callback.executive_id, callback.month) == (bank.world.executive.pk, date(2026, 10, 1))
    event = CaseEvent.objects.get(case=case, kind="callback")
    assert event.data == {"executive": bank.world.executive.pk, "month": "2026-10-01"}
    executive = bank.scope(bank.world.executive)
    assert can_edit(case_get(scope=executive, case_id=case.pk))
    assert [c.pk for c in executive_callback_list(scope=executive)] == [callback.pk]
    assert list(executive_callback_list(scope=bank.scope(bank.world.manager_north))) == []


def test_the_monthly_quota_holds(bank):
    LoopSettings.objects.create(organisation=bank.world.org, executive_callbacks_per_month=2)
    cases = [bank.case() for _ in range(3)]
    assign(bank, cases[0])
    assign(bank, cases[1], month=date(2026, 10, 31))
    with pytest.raises(Conflict) as refused:
        assign(bank, cases[2])
    assert [e.field for e in refused.value.errors] == ["month"]
    assign(bank, cases[2], month=date(2026, 11, 2))
    assert ExecutiveCallback.objects.filter(month=date(2026, 10, 1)).count() == 2


def test_a_case_has_one_executive_and_must_be_open(bank):
    case = bank.case()
    assign(bank, case)
    with pytest.raises(Conflict) as twice:
        assign(bank, case)
    assert [e.field for e in twice.value.errors] == ["case_id"]
    closed = bank.case()
    Case.objects.filter(pk=closed.pk).update(
        state="closed", closed_at=closed.opened_at, recovery_outcome="fixed"
    )
    with pytest.raises(Conflict) as refused:
        assign(bank, closed)
    assert [e.field for e in refused.value.errors] == ["case_id"]
    assert ExecutiveCallback.objects.count() == 1


def test_only_an_executive_takes_callbacks_and_only_hq_assigns_them(bank):
    case = bank.case()
    with pytest.raises(ValidationFailed) as not_executive:
        assign(bank, case, executive_id=bank.world.manager_north.pk)
    assert [e.field for e in not_executive.value.errors] == ["executive_id"]
    with pytest.raises(PermissionDenied):
        executive_callback_assign(
            scope=bank.scope(bank.world.manager_north),
            case_id=case.pk,
            executive_id=bank.world.executive.pk,
            month=OCTOBER,
        )
    assert ExecutiveCallback.objects.count() == 0


def test_the_response_job_opens_the_case_and_the_praise_once(bank):
    bank.rule()
    detractor = bank.respond({"ltr": 2}, employee_id=bank.bogdan.pk)
    promoter = bank.respond({"ltr": 10}, employee_id=bank.bogdan.pk)
    first = evaluate_response.call(detractor.pk)
    assert first == Case.objects.get().pk
    assert evaluate_response.call(detractor.pk) == first
    assert evaluate_response.call(promoter.pk) is None
    assert evaluate_response.call(promoter.pk) is None
    assert Praise.objects.count() == 1


def test_the_silence_job_counts_what_it_opened(bank):
    bank.rule("Silent", [{"kind": "non_response", "days": 30}], program_id=bank.survey.program_id)
    bank.respond({"ltr": 8}, completed_at=timezone.now() - timedelta(days=31))
    assert open_silence_cases.call(bank.world.org.pk) == 1
    assert open_silence_cases.call(bank.world.org.pk) == 0
