"""`sonda export answers|responses`: CSV and Parquet read back exactly, streamed, audited."""

import csv
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from sonda.accounts.models import AuditEvent
from sonda.cli import main
from sonda.core.calendar import day_number, hour_of
from sonda.core.testing.calendar import organisation_zone
from sonda.customers.tests.factories import CustomerFactory
from sonda.surveys.models import Answer
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import store

FIRST = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
SECOND = datetime(2026, 10, 6, 17, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_embedded_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SONDA_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def stored(world, survey):
    ana = CustomerFactory(organisation=world.org)
    first = store(
        survey,
        {"ltr": 3, "reasons": ["staff"], "speed": 2, "comment": 'Rău, "foarte" rău,\nadio.'},
        customer_id=ana.pk,
        unit_id=world.north_branch.pk,
        employee_id=world.frontline_person.pk,
        touchpoint="cash desk",
        channel="email",
        journey="mortgage",
        stage="application",
        external_id="crm-1",
        completed_at=FIRST,
    )
    second = store(
        survey, {"ltr": 10}, unit_id=world.south_branch.pk, language="pl", completed_at=SECOND
    )
    return first, second, ana


def export(*arguments: str) -> int:
    return main(["export", *arguments, "--organisation", "banca"])


def expected_answers(world, survey, stored):
    first, second, ana = stored
    context_first = [
        survey.pk,
        survey.program_id,
        1,
        world.north_branch.pk,
        "N1",
        world.frontline_person.pk,
        ana.pk,
        "cash desk",
        "email",
        "mortgage",
        "application",
        "ro",
    ]
    context_second = [survey.pk, survey.program_id, 1, world.south_branch.pk, "S1"]
    context_second += [None, None, "", "", "", "", "pl"]
    ids = dict(Answer.objects.filter(response=first).values_list("question_key", "pk"))
    second_id = Answer.objects.get(response=second).pk
    comment = 'Rău, "foarte" rău,\nadio.'
    values = [
        (ids["ltr"], first.pk, "ltr", "nps", 3.0, "", "", FIRST, context_first),
        (
            ids["reasons"],
            first.pk,
            "reasons",
            "multi_choice",
            None,
            "",
            "staff",
            FIRST,
            context_first,
        ),
        (ids["speed"], first.pk, "speed", "rating", 2.0, "", "", FIRST, context_first),
        (ids["comment"], first.pk, "comment", "text", None, comment, "", FIRST, context_first),
        (second_id, second.pk, "ltr", "nps", 10.0, "", "", SECOND, context_second),
    ]
    # answer id, the answer, when, its local day and hour, complete, then the response's context
    time_zone = organisation_zone(world.org.pk)
    return [
        [*value[:8], day_number(value[7], time_zone), hour_of(value[7], time_zone), True, *value[8]]
        for value in values
    ]


ANSWER_HEADER = [
    "response_id",
    "question_key",
    "kind",
    "number",
    "text",
    "choice",
    "answered_at",
    "local_day",
    "local_hour",
    "is_complete",
    "survey_id",
    "program_id",
    "version",
    "unit_id",
    "unit_code",
    "employee_id",
    "customer_id",
    "touchpoint",
    "channel",
    "journey",
    "stage",
    "language",
]


def as_csv(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if isinstance(value, float):
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def test_answers_export_to_csv_and_read_back_exactly(world, survey, stored, tmp_path, capsys):
    out = tmp_path / "answers.csv"

    assert export("answers", "--format", "csv", "--out", str(out)) == 0

    assert capsys.readouterr().out == f"Exported 5 answers to {out} (csv).\n"
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ANSWER_HEADER
    assert rows[1:] == [
        [as_csv(v) for v in row[1:]] for row in expected_answers(world, survey, stored)
    ]


def test_answers_export_to_parquet_and_read_back_exactly(world, survey, stored, tmp_path):
    out = tmp_path / "answers.parquet"

    assert export("answers", "--format", "parquet", "--out", str(out)) == 0

    table = pq.read_table(out)
    assert table.column_names == ANSWER_HEADER
    assert str(table.schema.field("answered_at").type) == "timestamp[us, tz=UTC]"
    assert [list(row.values()) for row in table.to_pylist()] == [
        row[1:] for row in expected_answers(world, survey, stored)
    ]


def test_responses_export_to_parquet(world, survey, stored, tmp_path):
    first, second, ana = stored
    out = tmp_path / "responses.parquet"

    assert export("responses", "--format", "parquet", "--out", str(out)) == 0

    assert pq.read_table(out).to_pylist() == [
        {
            "response_id": first.pk,
            "survey_id": survey.pk,
            "program_id": survey.program_id,
            "version": 1,
            "status": "complete",
            "source": "api",
            "external_id": "crm-1",
            "customer_id": ana.pk,
            "unit_id": world.north_branch.pk,
            "unit_code": "N1",
            "employee_id": world.frontline_person.pk,
            "touchpoint": "cash desk",
            "channel": "email",
            "journey": "mortgage",
            "stage": "application",
            "language": "ro",
            "invitation_id": None,
            "started_at": FIRST,
            "completed_at": FIRST,
        },
        {
            "response_id": second.pk,
            "survey_id": survey.pk,
            "program_id": survey.program_id,
            "version": 1,
            "status": "complete",
            "source": "api",
            "external_id": "",
            "customer_id": None,
            "unit_id": world.south_branch.pk,
            "unit_code": "S1",
            "employee_id": None,
            "touchpoint": "",
            "channel": "",
            "journey": "",
            "stage": "",
            "language": "pl",
            "invitation_id": None,
            "started_at": SECOND,
            "completed_at": SECOND,
        },
    ]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_small_chunk_size_streams_the_same_rows(world, survey, stored, tmp_path, file_format):
    whole, chunked = tmp_path / f"whole.{file_format}", tmp_path / f"chunked.{file_format}"

    export("answers", "--format", file_format, "--out", str(whole))
    export("answers", "--format", file_format, "--out", str(chunked), "--chunk-size", "2")

    if file_format == "csv":
        assert chunked.read_text() == whole.read_text()
    else:
        # Each chunk is written as it is read: one row group per two answers.
        assert pq.ParquetFile(chunked).metadata.num_row_groups == 3
        assert pq.read_table(chunked).equals(pq.read_table(whole))


def test_exports_are_filtered_by_survey_and_completion_dates(world, survey, stored, tmp_path):
    first, second, _ = stored
    other = make_published_survey(
        world.scope(world.analyst), program=survey.program, name="After a call"
    )
    store(other, {"ltr": 5}, completed_at=FIRST)
    out = tmp_path / "responses.parquet"

    def exported(*arguments: str) -> list[int]:
        assert export("responses", "--format", "parquet", "--out", str(out), *arguments) == 0
        return pq.read_table(out).column("response_id").to_pylist()

    assert exported("--survey", str(survey.pk)) == [first.pk, second.pk]
    assert exported("--survey", str(survey.pk), "--from", "2026-10-06") == [second.pk]
    assert exported("--to", "2026-10-05", "--survey", str(survey.pk)) == [first.pk]
    assert exported("--from", "2026-10-07") == []


def test_an_export_acts_within_the_members_scope(world, survey, stored, tmp_path):
    out = tmp_path / "answers.parquet"
    export("answers", "--format", "parquet", "--out", str(out), "--user", "south@banca.example")
    assert pq.read_table(out).column("unit_code").to_pylist() == ["S1"]


def test_every_export_is_audited_without_personal_data(world, survey, stored, tmp_path):
    out = tmp_path / "answers.csv"
    export("answers", "--format", "csv", "--out", str(out), "--survey", str(survey.pk))
    export("responses", "--format", "parquet", "--out", str(tmp_path / "r.parquet"))

    events = AuditEvent.objects.filter(action__startswith="export.").order_by("pk")
    assert [(e.action, e.actor, e.organisation, e.detail) for e in events] == [
        (
            "export.answers",
            world.admin,
            world.org,
            {"format": "csv", "filters": {"survey_id": survey.pk}, "rows": 5},
        ),
        (
            "export.responses",
            world.admin,
            world.org,
            {"format": "parquet", "filters": {}, "rows": 2},
        ),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--survey", "999999"], "--survey: 'banca' has no survey 999999"),
        (["--from", "2026-10-07", "--to", "2026-10-01"], "--from: must not be after --to"),
        (["--user", "nobody@banca.example"], "--user: nobody@banca.example is not a member"),
    ],
)
def test_bad_options_are_named_and_write_nothing(
    world, stored, tmp_path, capsys, arguments, message
):
    out = tmp_path / "answers.csv"
    assert export("answers", "--format", "csv", "--out", str(out), *arguments) == 2
    assert capsys.readouterr().err.startswith(f"sonda: error: {message}")
    assert not out.exists()
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_an_unwritable_target_is_named(world, stored, tmp_path, capsys):
    out = tmp_path / "missing-folder" / "answers.csv"
    assert export("answers", "--format", "csv", "--out", str(out)) == 2
    assert capsys.readouterr().err.startswith(f"sonda: error: --out: cannot write {out}")
