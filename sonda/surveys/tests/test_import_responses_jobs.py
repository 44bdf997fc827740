"""Response imports from the command line and from the imports page (a background job)."""

import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from sonda.cli import main
from sonda.imports.models import ImportJob
from sonda.imports.tests.helpers import csv_file
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.models import Response
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.test_import_responses import EXAMPLES, HEADER

BROKEN = csv_file(
    HEADER,
    "R-1,05/10/2026 09:30,,,,N1,,Email,Română,11,,2,",
    "R-2,05/10/2026 10:30,,,,N1,,Email,Română,8,,,",
)


@pytest.fixture(autouse=True)
def no_embedded_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SONDA_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def survey(world):
    PersonFactory(organisation=world.org, unit=world.south_branch, employee_number="E-1")
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def files(tmp_path):
    shutil.copy(EXAMPLES / "responses.csv", tmp_path / "responses.csv")
    shutil.copy(EXAMPLES / "responses-mapping.json", tmp_path / "mapping.json")
    (tmp_path / "broken.csv").write_text(BROKEN)
    return tmp_path


def sonda_import(files, survey, name: str, *extra: str) -> int:
    return main(
        [
            "import",
            "responses",
            str(files / name),
            "--survey",
            str(survey.pk),
            "--mapping",
            str(files / "mapping.json"),
            "--organisation",
            "banca",
            *extra,
        ]
    )


def test_the_command_imports_a_file_and_then_finds_it_imported(world, survey, files, capsys):
    assert sonda_import(files, survey, "responses.csv") == 0
    assert sonda_import(files, survey, "responses.csv") == 0

    assert capsys.readouterr().out.splitlines() == [
        "Imported 4 responses rows (4 created, 0 updated, 0 unchanged).",
        "Imported 4 responses rows (0 created, 0 updated, 4 unchanged).",
    ]
    assert Response.objects.count() == 4


def test_a_broken_row_stops_the_command_naming_row_and_column(world, survey, files, capsys):
    assert sonda_import(files, survey, "broken.csv") == 2

    assert capsys.readouterr().err == (
        f"sonda: error: {files / 'broken.csv'}: nothing was imported; 1 problem:\n"
        "row 2, column Q1 Recommend: must be a whole number from 0 to 10\n"
    )
    assert Response.objects.count() == 0


def test_skip_invalid_imports_the_rest_and_lists_the_problems(world, survey, files, capsys):
    assert sonda_import(files, survey, "broken.csv", "--skip-invalid") == 0

    assert capsys.readouterr().out == (
        "Imported 2 responses rows (1 created, 0 updated, 0 unchanged).\n"
        "Skipped the invalid rows; 1 problem:\n"
        "row 2, column Q1 Recommend: must be a whole number from 0 to 10\n"
    )
    assert list(Response.objects.values_list("external_id", flat=True)) == ["R-2"]


def test_a_dry_run_writes_nothing(world, survey, files, capsys):
    assert sonda_import(files, survey, "responses.csv", "--dry-run") == 0
    assert capsys.readouterr().out == (
        "Dry run, nothing written: 4 responses rows would import "
        "(4 created, 0 updated, 0 unchanged).\n"
    )
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--survey", "999999"], "survey: no survey with id 999999"),
        (["--mapping", "missing.json"], "--mapping: cannot read"),
        (["--mapping", "responses.csv"], "--mapping: "),
    ],
)
def test_bad_options_are_named(world, survey, files, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(files)
    code = sonda_import(files, survey, "responses.csv", *arguments)
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("sonda: error: ")
    assert message in err
    assert Response.objects.count() == 0


def test_a_mapping_mistake_names_its_place(world, survey, files, capsys):
    (files / "mapping.json").write_text('{"external_id": "Response ID", "answers": {"ltrr": "Q1"}}')
    assert sonda_import(files, survey, "responses.csv") == 2
    assert capsys.readouterr().err == (
        "sonda: error: --mapping: completed_at: a column name, or "
        '{"column": ..., "format": "%d/%m/%Y %H:%M"}; '
        "--mapping: answers.ltrr: the survey has no question 'ltrr'; "
        "--mapping: answers.ltr: the question is required: map a column to it\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["units", "x.csv", "--survey", "1"], "--survey: only response imports take it"),
        (["responses", "x.csv"], "--survey: a response import needs it"),
        (["units", "x.csv", "--skip-invalid"], "--skip-invalid: only response imports take it"),
    ],
)
def test_response_options_belong_to_response_imports(world, capsys, arguments, message):
    assert main(["import", *arguments, "--organisation", "banca"]) == 2
    assert capsys.readouterr().err == f"sonda: error: {message}\n"


def work() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def upload(client, survey, text: str, mapping: str, **extra):
    return client.post(
        reverse("imports:list"),
        {
            "kind": "responses",
            "file": SimpleUploadedFile("responses.csv", text.encode()),
            "survey": survey.pk,
            "mapping": mapping,
            **extra,
        },
    )


@pytest.mark.django_db(transaction=True)
def test_the_imports_page_imports_responses_in_the_background(client, world, survey):
    client.force_login(world.analyst)
    mapping = (EXAMPLES / "responses-mapping.json").read_text()

    page = upload(client, survey, (EXAMPLES / "responses.csv").read_text(), mapping)

    job = ImportJob.objects.get()
    assert page.status_code == 302
    assert (job.kind, job.survey_id, job.status, job.skip_invalid) == (
        "responses",
        survey.pk,
        "pending",
        False,
    )
    work()
    job.refresh_from_db()
    assert (job.status, job.rows, job.created_count, job.error_count) == ("succeeded", 4, 4, 0)
    assert Response.objects.filter(source="import").count() == 4
    detail = client.get(reverse("imports:detail", kwargs={"job_id": job.pk})).content.decode()
    assert survey.name in detail


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_file_with_a_broken_row_imports_nothing_or_the_rest(client, world, survey):
    client.force_login(world.analyst)
    mapping = (EXAMPLES / "responses-mapping.json").read_text()

    upload(client, survey, BROKEN, mapping)
    upload(client, survey, BROKEN, mapping, skip_invalid="on")
    work()

    strict, lenient = ImportJob.objects.order_by("pk")
    problems = [
        {"row": 2, "field": "Q1 Recommend", "message": "must be a whole number from 0 to 10"}
    ]
    assert (strict.status, strict.created_count, strict.row_errors) == ("failed", 0, problems)
    assert (lenient.status, lenient.created_count, lenient.row_errors) == (
        "succeeded",
        1,
        problems,
    )
    assert list(Response.objects.values_list("external_id", flat=True)) == ["R-2"]
    page = client.get(reverse("imports:detail", kwargs={"job_id": lenient.pk})).content.decode()
    assert "must be a whole number from 0 to 10" in page


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"mapping": ""}, {"mapping": ["Upload or paste the mapping of the file's columns."]}),
        ({"survey": ""}, {"survey": ["Choose the survey the responses answer."]}),
        (
            {"mapping": "{not json"},
            {
                "mapping": [
                    (
                        "The mapping is not valid JSON (line 1, column 2: Expecting property "
                        "name enclosed in double quotes)."
                    )
                ]
            },
        ),
        (
            {
                "mapping": '{"external_id": "Response ID", "completed_at": "Submitted", '
                '"answers": {"ltrr": "Q1"}}'
            },
            {
                "mapping": [
                    "answers.ltrr: the survey has no question 'ltrr'",
                    "answers.ltr: the question is required: map a column to it",
                ]
            },
        ),
    ],
)
def test_the_upload_form_names_what_is_wrong_and_queues_nothing(
    client, world, survey, form, errors
):
    client.force_login(world.analyst)
    data = {
        "kind": "responses",
        "file": SimpleUploadedFile("r.csv", (EXAMPLES / "responses.csv").read_bytes()),
        "survey": survey.pk,
        "mapping": (EXAMPLES / "responses-mapping.json").read_text(),
        **form,
    }
    page = client.post(reverse("imports:list"), data)
    assert page.status_code == 200
    assert {k: list(v) for k, v in page.context["form"].errors.items()} == errors
    assert not ImportJob.objects.exists()


def test_a_mapping_can_be_uploaded_as_a_file(client, world, survey):
    client.force_login(world.analyst)
    page = client.post(
        reverse("imports:list"),
        {
            "kind": "responses",
            "file": SimpleUploadedFile("r.csv", (EXAMPLES / "responses.csv").read_bytes()),
            "survey": survey.pk,
            "mapping_file": SimpleUploadedFile(
                "m.json", (EXAMPLES / "responses-mapping.json").read_bytes()
            ),
        },
    )
    assert page.status_code == 302
    assert ImportJob.objects.get().mapping["external_id"] == "Response ID"


def test_another_organisations_survey_cannot_be_chosen(client, world, survey):
    client.force_login(world.outsider)
    page = upload(
        client,
        survey,
        (EXAMPLES / "responses.csv").read_text(),
        (EXAMPLES / "responses-mapping.json").read_text(),
    )
    assert page.status_code == 200
    assert "survey" in page.context["form"].errors
    assert not ImportJob.objects.exists()
