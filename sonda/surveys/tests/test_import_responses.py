"""Importing responses from another tool's CSV with a mapping: every row or none, idempotent."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.core.errors import PermissionDenied, RowErrors, ValidationFailed
from sonda.customers.models import Customer, CustomerIdentity
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.imports.tests.helpers import csv_file, problems
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.imports import responses_import
from sonda.surveys.models import Answer, Response
from sonda.surveys.tests.factories import make_published_survey

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
HEADER = (
    "Response ID,Submitted,Email,Phone,Client no,Branch,Agent,Channel,Language,"
    "Q1 Recommend,Q2 What went wrong,Q3 Speed of service,Q4 Comments"
)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def mapping():
    return json.loads((EXAMPLES / "responses-mapping.json").read_text())


@pytest.fixture
def known(world):
    """Ana is known by her CRM id; Jan's advisor is employee E-1 at south 1."""
    ana = CustomerFactory(organisation=world.org, full_name="Ana Pop")
    CustomerIdentityFactory(customer=ana, kind="external", source="crm", value="C-17")
    advisor = PersonFactory(organisation=world.org, unit=world.south_branch, employee_number="E-1")
    return ana, advisor


def run(world, survey, mapping, text, **options):
    return responses_import(
        scope=world.scope(world.analyst),
        survey_id=survey.pk,
        mapping=mapping,
        text=text,
        **options,
    )


def stored_answers() -> list[tuple[str, str, float | None, str, str]]:
    return list(
        Answer.objects.order_by("response__external_id", "pk").values_list(
            "response__external_id", "question_key", "value_number", "value_choice", "value_text"
        )
    )


def snapshot() -> tuple[int, int, int, int]:
    return (
        Response.objects.count(),
        Answer.objects.count(),
        Customer.objects.count(),
        CustomerIdentity.objects.count(),
    )


def test_the_example_file_imports_with_its_context(world, survey, mapping, known):
    ana, advisor = known

    result = run(world, survey, mapping, (EXAMPLES / "responses.csv").read_text())

    assert (result.kind, result.rows, result.created, result.unchanged, result.skipped) == (
        "responses",
        4,
        4,
        0,
        (),
    )
    responses = {r.external_id: r for r in Response.objects.select_related("customer")}
    phone_owner = CustomerIdentity.objects.get(kind="phone", value="+40721234567").customer_id
    email_owner = CustomerIdentity.objects.get(value="jan.kowalski@poczta.example").customer_id
    assert {
        key: (
            r.customer_id,
            r.unit_id,
            r.employee_id,
            r.channel,
            r.touchpoint,
            r.language,
            r.status,
            r.source,
            r.completed_at,
        )
        for key, r in responses.items()
    } == {
        # Ana's CRM id is known: her email is not made into a second customer.
        "R-1001": (
            ana.pk,
            world.north_branch.pk,
            None,
            "email",
            "branch visit",
            "ro",
            "complete",
            "import",
            datetime(2026, 10, 5, 6, 30, tzinfo=UTC),  # 09:30 in Bucharest
        ),
        "R-1002": (
            phone_owner,
            world.south_branch.pk,
            None,
            "sms",
            "branch visit",
            "ro",
            "complete",
            "import",
            datetime(2026, 10, 5, 8, 2, tzinfo=UTC),
        ),
        # No unit given: the advisor's.
        "R-1003": (
            email_owner,
            world.south_branch.pk,
            advisor.pk,
            "email",
            "branch visit",
            "pl",
            "complete",
            "import",
            datetime(2026, 10, 6, 13, 45, tzinfo=UTC),
        ),
        # An unknown CRM id is a new customer.
        "R-1004": (
            CustomerIdentity.objects.get(value="C-99").customer_id,
            world.north_branch.pk,
            None,
            "kiosk",
            "branch visit",
            "en",
            "complete",
            "import",
            datetime(2026, 10, 7, 5, 15, tzinfo=UTC),
        ),
    }
    assert Customer.objects.count() == 4
    assert stored_answers() == [
        ("R-1001", "ltr", 4.0, "", ""),
        ("R-1001", "reasons", None, "waiting", ""),
        ("R-1001", "reasons", None, "fees", ""),
        ("R-1001", "speed", 2.0, "", ""),
        ("R-1001", "comment", None, "", "Am așteptat prea mult la ghișeu."),
        ("R-1002", "ltr", 9.0, "", ""),
        ("R-1002", "speed", 5.0, "", ""),
        # Polish labels are matched to their options without being mapped.
        ("R-1003", "ltr", 2.0, "", ""),
        ("R-1003", "reasons", None, "waiting", ""),
        ("R-1003", "reasons", None, "staff", ""),
        ("R-1003", "speed", 1.0, "", ""),
        ("R-1003", "comment", None, "", "Długo czekałem w kolejce."),
        ("R-1004", "ltr", 10.0, "", ""),
        ("R-1004", "speed", 4.0, "", ""),
        ("R-1004", "comment", None, "", "Quick, friendly and clear."),
    ]
    # Answers carry their response's context, as the survey pages write them.
    for answer in Answer.objects.select_related("response", "response__unit"):
        response = answer.response
        assert (
            answer.customer_id,
            answer.unit_id,
            answer.unit_path,
            answer.employee_id,
            answer.channel,
            answer.touchpoint,
            answer.language,
            answer.answered_at,
            answer.is_complete,
            answer.version_id,
            answer.program_id,
        ) == (
            response.customer_id,
            response.unit_id,
            response.unit.path if response.unit else "",
            response.employee_id,
            response.channel,
            response.touchpoint,
            response.language,
            response.completed_at,
            True,
            response.version_id,
            survey.program_id,
        )


def test_importing_the_same_file_twice_writes_nothing_new(world, survey, mapping, known):
    text = (EXAMPLES / "responses.csv").read_text()
    run(world, survey, mapping, text)
    before = snapshot()

    again = run(world, survey, mapping, text)

    assert (again.rows, again.created, again.unchanged) == (4, 0, 4)
    assert snapshot() == before


def test_a_file_extended_with_new_rows_imports_only_those(world, survey, mapping, known):
    text = (EXAMPLES / "responses.csv").read_text()
    run(world, survey, mapping, text)
    extended = text + "R-1005,08/10/2026 10:00,,,,S1,,SMS,Română,7,,3,\n"

    result = run(world, survey, mapping, extended)

    assert (result.created, result.unchanged) == (1, 4)
    assert Response.objects.count() == 5


BROKEN = csv_file(
    HEADER,
    "R-1,05/10/2026 09:30,,,,N1,,Email,Română,11,,2,",
    "R-2,31/02/2026 09:30,,,,N1,,Email,Română,7,,2,",
    "R-3,05/10/2026 09:30,not-an-email,,,NOWHERE,E-404,Fax,Klingon,3,Weather;Fees,9,",
    "R-1,05/10/2026 10:30,,,,N1,,Email,Română,8,,,",
    ",05/10/2026 10:30,,,,N1,,Email,Română,,,4,",
    "R-6,05/10/2026 10:30,,,,N1,,Email,Română,10,,,",
)


def test_broken_rows_are_named_by_row_and_column_and_nothing_is_written(
    world, survey, mapping, known
):
    before = snapshot()

    with pytest.raises(RowErrors) as error:
        run(world, survey, mapping, BROKEN)

    assert problems(error.value) == [
        (2, "Q1 Recommend", "must be a whole number from 0 to 10"),
        (3, "Submitted", "'31/02/2026 09:30' is not a date in the format %d/%m/%Y %H:%M"),
        (4, "Email", "'not-an-email' is not an email address"),
        (4, "Language", "'Klingon' is not a language of the survey ['en', 'ro', 'pl']"),
        (
            4,
            "Q2 What went wrong",
            "'Weather' is not one of the options ['waiting', 'staff', 'fees']",
        ),
        (4, "Q3 Speed of service", "must be a whole number from 1 to 5"),
        (5, "Response ID", "R-1 is also on row 2"),
        (6, "Response ID", "the response id is required"),
        (6, "Q1 Recommend", "an answer to ltr is required"),
    ]
    assert snapshot() == before


def test_unknown_units_and_employees_are_row_errors(world, survey, mapping, known):
    text = csv_file(HEADER, "R-1,05/10/2026 09:30,,,,NOWHERE,E-404,Email,Română,3,,,")
    with pytest.raises(RowErrors) as error:
        run(world, survey, mapping, text)
    assert problems(error.value) == [
        (2, "Branch", "no unit with code NOWHERE"),
        (2, "Agent", "no employee with number E-404"),
    ]
    assert Response.objects.count() == 0


def test_skip_invalid_writes_the_valid_rows_and_reports_the_rest(world, survey, mapping, known):
    result = run(world, survey, mapping, BROKEN, skip_invalid=True)

    # Row 2's id R-1 is wrong on row 2 itself (score 11), so row 5's R-1 is the duplicate.
    assert (result.rows, result.created, result.unchanged) == (6, 1, 0)
    assert [(e.row, e.field) for e in result.skipped][:2] == [
        (2, "Q1 Recommend"),
        (3, "Submitted"),
    ]
    assert list(Response.objects.values_list("external_id", flat=True)) == ["R-6"]
    assert stored_answers() == [("R-6", "ltr", 10.0, "", "")]


def test_reasons_for_a_high_score_are_not_kept(world, survey, mapping):
    text = csv_file(HEADER, "R-1,05/10/2026 09:30,,,,N1,,Email,Română,10,Fees,,")
    run(world, survey, mapping, text)
    assert stored_answers() == [("R-1", "ltr", 10.0, "", "")]


def test_a_dry_run_counts_and_writes_nothing(world, survey, mapping, known):
    before = snapshot()
    result = run(world, survey, mapping, (EXAMPLES / "responses.csv").read_text(), dry_run=True)
    assert (result.created, result.dry_run) == (4, True)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda m: m["answers"].update({"ltrr": "Q1 Recommend"}), ["mapping.answers.ltrr"]),
        (lambda m: m["answers"].pop("ltr"), ["mapping.answers.ltr"]),
        (
            lambda m: m["answers"]["reasons"]["values"].update({"Weather": "weather"}),
            ["mapping.answers.reasons.values.Weather"],
        ),
        (lambda m: m.pop("external_id"), ["mapping.external_id"]),
        (
            lambda m: m["completed_at"].update({"time_zone": "Mars/Olympus"}),
            ["mapping.completed_at.time_zone"],
        ),
        (lambda m: m["customer"].update({"fax": "Fax"}), ["mapping.customer.fax"]),
        (lambda m: m.update({"colour": "Colour"}), ["mapping.colour"]),
        (lambda m: m.update({"language": {"value": "de"}}), ["mapping.language.value"]),
    ],
)
def test_a_mapping_mistake_is_named_before_any_row_is_read(world, survey, mapping, change, fields):
    change(mapping)
    with pytest.raises(ValidationFailed) as error:
        run(world, survey, mapping, (EXAMPLES / "responses.csv").read_text())
    assert [e.field for e in error.value.errors] == fields
    assert Response.objects.count() == 0


def test_a_column_the_file_lacks_is_a_header_problem(world, survey, mapping):
    mapping["answers"]["comment"] = "Q9 Comments"
    with pytest.raises(RowErrors) as error:
        run(world, survey, mapping, (EXAMPLES / "responses.csv").read_text())
    assert problems(error.value) == [
        (1, "Q9 Comments", "the mapping names this column but the file lacks it")
    ]


def test_yes_no_words_single_choices_and_fixed_values_are_mapped(world):
    scope = world.scope(world.analyst)
    survey = make_published_survey(
        scope,
        questions=[
            {"key": "resolved", "kind": "yes_no", "required": True, "text": _texts("Resolved?")},
            {
                "key": "visit",
                "kind": "single_choice",
                "text": _texts("Why did you come?"),
                "options": [
                    {"code": "loan", "labels": _texts("A loan")},
                    {"code": "card", "labels": _texts("A card")},
                ],
            },
        ],
    )
    mapping = {
        "external_id": "id",
        "completed_at": "when",
        "unit_code": {"value": "S1"},
        "language": {"value": "en"},
        "answers": {
            "resolved": {"column": "Gelöst", "values": {"Ja": True, "Nein": False}},
            "visit": {"column": "Grund", "values": {"Kredit": "loan", "Sonstiges": None}},
        },
    }
    text = csv_file(
        "id,when,Gelöst,Grund",
        "a,2026-10-05 09:30,ja,Kredit",
        "b,2026-10-05T10:30:00+02:00,Nein,a card",
        "c,2026-10-05 11:30,yes,Sonstiges",
    )

    result = responses_import(scope=scope, survey_id=survey.pk, mapping=mapping, text=text)

    assert result.created == 3
    assert stored_answers() == [
        ("a", "resolved", 1.0, "", ""),
        ("a", "visit", None, "loan", ""),
        ("b", "resolved", 0.0, "", ""),
        ("b", "visit", None, "card", ""),
        ("c", "resolved", 1.0, "", ""),
    ]
    assert set(Response.objects.values_list("unit_id", "language")) == {
        (world.south_branch.pk, "en")
    }
    assert Response.objects.get(external_id="b").completed_at == datetime(
        2026, 10, 5, 8, 30, tzinfo=UTC
    )


def _texts(text: str) -> dict[str, str]:
    return {"en": text, "ro": f"{text} (ro)", "pl": f"{text} (pl)"}


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_import_responses(world, survey, mapping, who):
    with pytest.raises(PermissionDenied):
        responses_import(
            scope=world.scope(world.users_by_role[who]),
            survey_id=survey.pk,
            mapping=mapping,
            text=(EXAMPLES / "responses.csv").read_text(),
        )
    assert Response.objects.count() == 0


def test_another_organisations_survey_is_unknown(world, survey, mapping):
    with pytest.raises(ValidationFailed) as error:
        responses_import(
            scope=world.scope(world.outsider, world.other_org),
            survey_id=survey.pk,
            mapping=mapping,
            text=(EXAMPLES / "responses.csv").read_text(),
        )
    assert [e.field for e in error.value.errors] == ["survey"]


def rows(count: int, start: int = 0) -> str:
    lines = [HEADER]
    for n in range(start, start + count):
        lines.append(
            f"R-{n},05/10/2026 09:30,c{n}@mail.example,,,N1,,Email,Română,{n % 11},"
            f"{'Fees' if n % 11 <= 6 else ''},3,Text {n}"
        )
    return csv_file(*lines)


def test_the_queries_do_not_grow_with_the_rows(world, survey, mapping):
    with CaptureQueriesContext(connection) as few:
        run(world, survey, mapping, rows(20))
    with CaptureQueriesContext(connection) as many:
        run(world, survey, mapping, rows(150, start=20))
    assert Response.objects.count() == 170
    # Look-ups by the batch and one INSERT of responses and one of answers, however many rows.
    assert len(many) == len(few)


def test_a_row_longer_than_the_header_is_named(world, survey, mapping):
    text = csv_file(HEADER, "R-1,05/10/2026 09:30,,,,N1,,Email,Română,9,,,,surplus")
    with pytest.raises(RowErrors) as error:
        run(world, survey, mapping, text)
    assert problems(error.value) == [
        (2, "14", "the row has 14 values but the header has 13 columns")
    ]
