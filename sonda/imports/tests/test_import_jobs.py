"""Uploading on the imports page, and the job worker importing the file exactly once."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from sonda.accounts.models import Membership
from sonda.imports.models import ImportJob, ImportStatus
from sonda.imports.services import import_job_create
from sonda.imports.tasks import run_import
from sonda.org.models import Unit

UNITS = "code,name,type,parent_code\nN1-T1,Team 1,team,N1\nN1-T2,Team 2,team,N1\n"
BROKEN_UNITS = "code,name,type,parent_code\nN1-T1,Team 1,team,N1\nN1-T2,,team,NOWHERE\n"
ROLES = ("admin", "analyst", "executive", "manager_north", "manager_south", "frontline", "outsider")


def work() -> None:
    """One pass of the real database job worker over everything queued."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def upload(client, text: str, kind: str = "units", name: str = "units.csv", region: str = ""):
    return client.post(
        reverse("imports:list"),
        {"kind": kind, "file": SimpleUploadedFile(name, text.encode()), "region": region},
    )


def unit_codes(org) -> set[str]:
    return set(Unit.objects.filter(organisation=org).values_list("code", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_file_is_imported_by_the_job_worker(client, world):
    client.force_login(world.analyst)

    response = upload(client, UNITS)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", kwargs={"job_id": job.pk})
    assert (job.status, job.kind, job.file_name, job.created_by) == (
        ImportStatus.PENDING,
        "units",
        "units.csv",
        world.analyst,
    )
    assert "N1-T1" not in unit_codes(world.org)
    assert DBTaskResult.objects.count() == 1

    work()

    job.refresh_from_db()
    assert (job.status, job.rows, job.created_count, job.updated_count) == ("succeeded", 2, 2, 0)
    assert (job.unchanged_count, job.error_count, job.row_errors) == (0, 0, [])
    assert job.content == ""  # the file is not kept once imported
    assert job.started_at is not None
    assert job.finished_at is not None
    assert {"N1-T1", "N1-T2"} <= unit_codes(world.org)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    page = client.get(reverse("imports:detail", kwargs={"job_id": job.pk})).content.decode()
    assert "Imported" in page
    assert "hx-trigger" not in page  # a finished job stops asking for updates


@pytest.mark.django_db(transaction=True)
def test_a_second_task_for_the_same_job_changes_nothing(world):
    job = import_job_create(scope=world.scope(world.analyst), kind="units", content=UNITS)
    work()
    job.refresh_from_db()
    done = (job.status, job.created_count, job.started_at, job.finished_at, job.updated_at)
    units_before = unit_codes(world.org)

    run_import.enqueue(job.pk)
    work()

    job.refresh_from_db()
    assert (job.status, job.created_count, job.started_at, job.finished_at, job.updated_at) == done
    assert unit_codes(world.org) == units_before
    results = DBTaskResult.objects.order_by("enqueued_at")
    assert [(r.status, r.return_value) for r in results] == [
        ("SUCCESSFUL", "succeeded"),
        ("SUCCESSFUL", "succeeded"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_file_with_broken_rows_fails_with_its_row_errors_and_imports_nothing(client, world):
    before = unit_codes(world.org)
    client.force_login(world.admin)
    upload(client, BROKEN_UNITS)

    work()

    job = ImportJob.objects.get()
    assert (job.status, job.rows, job.created_count, job.error_count) == ("failed", 0, 0, 2)
    assert job.row_errors == [
        {"field": "name", "message": "a value is required", "row": 3},
        {
            "field": "parent_code",
            "message": "no unit with code NOWHERE in the file or in the organisation",
            "row": 3,
        },
    ]
    assert unit_codes(world.org) == before
    assert job.content == ""
    page = client.get(reverse("imports:detail", kwargs={"job_id": job.pk})).content.decode()
    assert "Nothing was imported: 2 problems were found." in page
    assert "no unit with code NOWHERE in the file or in the organisation" in page


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_uploader_left_the_organisation_fails_without_importing(world):
    job = import_job_create(scope=world.scope(world.analyst), kind="units", content=UNITS)
    Membership.objects.filter(user=world.analyst).delete()
    before = unit_codes(world.org)

    work()

    job.refresh_from_db()
    assert (job.status, job.failure) == (
        "failed",
        "The person who uploaded the file is no longer a member.",
    )
    assert unit_codes(world.org) == before


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_uploader_may_no_longer_import_fails_without_importing(world):
    job = import_job_create(scope=world.scope(world.analyst), kind="units", content=UNITS)
    Membership.objects.filter(user=world.analyst).update(role="executive")
    before = unit_codes(world.org)

    work()

    job.refresh_from_db()
    assert (job.status, job.failure) == ("failed", "Your role (executive) may not import units.")
    assert unit_codes(world.org) == before


def test_a_waiting_job_says_so_and_keeps_asking_for_updates(world, client):
    job = ImportJob.objects.create(
        organisation=world.org, kind="customers", content="email\na@b.example\n"
    )
    client.force_login(world.admin)
    page = client.get(reverse("imports:detail", kwargs={"job_id": job.pk})).content.decode()
    assert "Waiting for the worker" in page
    assert 'hx-trigger="every 2s"' in page


def test_a_file_that_is_not_utf8_is_refused_on_the_form(world, client):
    client.force_login(world.analyst)
    response = upload(client, "", name="latin1.csv")
    response = client.post(
        reverse("imports:list"),
        {
            "kind": "units",
            "file": SimpleUploadedFile("latin1.csv", "code,name\nȘ,Ț\n".encode("utf-16")),
        },
    )
    assert response.status_code == 200
    assert "The file is not UTF-8 text." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_phone_region_on_a_units_file_is_refused_next_to_its_field(world, client):
    client.force_login(world.analyst)
    response = upload(client, UNITS, region="RO")
    assert response.status_code == 200
    assert "only customer imports read phone numbers" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_customer_job_records_the_region_its_phones_are_read_in(world):
    job = import_job_create(
        scope=world.scope(world.analyst), kind="customers", content="phone\n0721234567\n"
    )
    assert job.region == "RO"


@pytest.mark.parametrize("role", ["executive", "manager_north", "frontline"])
def test_roles_that_may_not_import_cannot_upload(world, client, role):
    client.force_login(world.users_by_role[role])
    response = upload(client, UNITS)
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_the_list_shows_only_the_organisations_own_jobs(world, client):
    ImportJob.objects.create(
        organisation=world.org, kind="units", content=UNITS, file_name="ours.csv"
    )
    ImportJob.objects.create(
        organisation=world.other_org, kind="units", content=UNITS, file_name="theirs.csv"
    )
    client.force_login(world.admin)
    page = client.get(reverse("imports:list")).content.decode()
    assert "ours.csv" in page
    assert "theirs.csv" not in page


LIST = {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "outsider": 200}
DETAIL = {**dict.fromkeys(ROLES, 403), "admin": 200, "analyst": 200, "outsider": 404}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_the_imports_pages(world, client, role):
    job = ImportJob.objects.create(organisation=world.org, kind="units", content=UNITS)
    client.force_login(world.users_by_role[role])
    assert client.get(reverse("imports:list")).status_code == LIST[role]
    detail = reverse("imports:detail", kwargs={"job_id": job.pk})
    assert client.get(detail).status_code == DETAIL[role]


def test_anonymous_visitors_are_sent_to_sign_in(world, client):
    job = ImportJob.objects.create(organisation=world.org, kind="units", content=UNITS)
    for url in (reverse("imports:list"), reverse("imports:detail", kwargs={"job_id": job.pk})):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(reverse("imports:list")).status_code == 302
    assert ImportJob.objects.count() == 1


def test_the_list_reads_the_same_number_of_queries_however_many_jobs(world, client):
    client.force_login(world.admin)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("imports:list")).status_code == 200
        return len(queries)

    ImportJob.objects.create(
        organisation=world.org, kind="units", content=UNITS, created_by=world.admin
    )
    one = queries_for_list()
    for uploader in (world.analyst, world.admin, world.analyst):
        ImportJob.objects.create(
            organisation=world.org, kind="people", content=UNITS, created_by=uploader
        )
    assert queries_for_list() == one
