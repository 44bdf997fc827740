"""A customer's cases in the personal-data registry: export, erasure, merge."""

import pytest

from sonda.customers.identities import identity_normalise
from sonda.customers.services import customer_create, customer_merge
from sonda.loop import personal_data
from sonda.loop.models import Case, CaseEvent, CaseProblem, Praise
from sonda.loop.opening import praise_record_for_response
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.workflow import case_add_note, case_code_root_causes
from sonda.privacy.registry import sources
from sonda.privacy.services import customer_data_export, customer_erase

ANA_EMAIL = "ana.popescu@mail.example"


@pytest.fixture
def loop_source() -> None:
    # The app registers its source when it starts; the tests only make sure it is there (taking
    # it away afterwards would leave the other apps' tests without it).
    personal_data.register_source()


@pytest.fixture
def bank(world):
    return make_bank(world)


def customer(bank, name, email):
    return customer_create(
        scope=bank.analyst,
        identities=[identity_normalise(kind="email", value=email)],
        full_name=name,
    )


def test_the_loop_is_registered_when_the_app_starts():
    assert "loop" in {source.name for source in sources()}


def test_a_customers_cases_are_exported_with_their_notes(bank, loop_source):
    ana = customer(bank, "Ana Popescu", ANA_EMAIL)
    waiting = bank.problem("waiting")
    case = bank.case({"ltr": 2}, customer_id=ana.pk)
    case_add_note(scope=bank.analyst, case_id=case.pk, text="Ana waited 40 minutes.", now=OPENED)
    case_code_root_causes(
        scope=bank.analyst,
        case_id=case.pk,
        problem_ids=[waiting.pk],
        notes={waiting.pk: "One desk open."},
    )
    document = customer_data_export(scope=bank.scope(bank.world.admin), customer_id=ana.pk)
    assert document["loop"] == [
        {
            "case": case.pk,
            "survey": bank.survey.name,
            "opened_at": OPENED.isoformat(),
            "state": "new",
            "recovery_outcome": "",
            "closed_at": None,
            "timeline": [
                {"at": OPENED.isoformat(), "kind": "note", "text": "Ana waited 40 minutes."}
            ],
            "root_causes": [{"problem": "waiting", "note": "One desk open."}],
        }
    ]


def test_erasure_keeps_the_cases_and_removes_what_was_written_about_the_customer(bank, loop_source):
    ana = customer(bank, "Ana Popescu", ANA_EMAIL)
    other = customer(bank, "Ion Ionescu", "ion@mail.example")
    waiting = bank.problem("waiting")
    hers = bank.case({"ltr": 2}, customer_id=ana.pk)
    his = bank.case({"ltr": 2}, customer_id=other.pk)
    for case in (hers, his):
        case_add_note(scope=bank.analyst, case_id=case.pk, text="Spoke to the customer.")
        case_code_root_causes(
            scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk], notes={waiting.pk: "x"}
        )
    praised = bank.respond(
        {"ltr": 10, "comment": "Ioana Marin was lovely"},
        customer_id=ana.pk,
        unit_id=bank.world.south_branch.pk,
    )
    praise_record_for_response(response_id=praised.pk)

    result = customer_erase(scope=bank.scope(bank.world.admin), kind="email", value=ANA_EMAIL)

    assert result.rows["loop"] == 2
    assert Case.objects.count() == 2
    assert list(CaseEvent.objects.filter(case=hers).exclude(text="")) == []
    assert list(CaseProblem.objects.filter(case=hers).values_list("problem_id", "note")) == [
        (waiting.pk, "")
    ]
    assert Praise.objects.get().response_id == praised.pk  # the praise stays with the employee
    assert CaseEvent.objects.filter(case=his, text="Spoke to the customer.").count() == 1
    assert CaseProblem.objects.get(case=his).note == "x"


def test_a_merge_moves_the_cases_to_the_surviving_profile(bank, loop_source):
    ana = customer(bank, "Ana Popescu", ANA_EMAIL)
    duplicate = customer(bank, "A. Popescu", "a.popescu@mail.example")
    case = bank.case({"ltr": 2}, customer_id=duplicate.pk)
    customer_merge(scope=bank.analyst, surviving_id=ana.pk, merged_id=duplicate.pk)
    case.refresh_from_db()
    assert case.customer_id == ana.pk
