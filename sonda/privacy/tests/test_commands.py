import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sonda.accounts.models import AuditEvent
from sonda.customers.models import Customer, CustomerIdentity
from sonda.privacy.tests.conftest import ANA_EMAIL, ANA_PHONE


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_export_by_email_writes_the_file_and_is_audited_as_the_system(world, ana, tmp_path):
    target = tmp_path / "ana.json"
    output = run(
        "customer_export", "--organisation", "banca", "--email", ANA_EMAIL, "--out", str(target)
    )
    assert output == f"Exported customer {ana.pk} to {target}.\n"
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["customer_id"] == ana.pk
    assert document["customers"]["full_name"] == "Ana Popescu"
    event = AuditEvent.objects.get(action="customer.exported")
    assert event.actor is None
    assert event.organisation == world.org
    assert event.detail["via"] == "cli"


@pytest.mark.parametrize(
    "choice",
    [
        ["--phone", ANA_PHONE],
        ["--external", "crm:C-17"],
        ["--email", "ANA.POPESCU@mail.example"],
    ],
)
def test_export_finds_the_customer_by_any_identity(world, ana, choice):
    document = json.loads(run("customer_export", "--organisation", "banca", *choice))
    assert document["customer_id"] == ana.pk


def test_export_by_number_prints_json(world, ana):
    document = json.loads(
        run("customer_export", "--organisation", "banca", "--customer-id", str(ana.pk))
    )
    assert [i["kind"] for i in document["customers"]["identities"]] == [
        "email",
        "external",
        "phone",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--organisation", "nope", "--email", ANA_EMAIL],
            "--organisation: no organisation 'nope'",
        ),
        (
            ["--organisation", "other", "--email", ANA_EMAIL],
            "--email: No customer has this identity.",
        ),
        (["--organisation", "banca", "--email", "ana"], "--email: 'ana' is not an email address"),
        (
            ["--organisation", "banca", "--external", "C-17"],
            "--external: write the source system and the id, e.g. crm:C-17",
        ),
        (
            ["--organisation", "banca", "--customer-id", "999999"],
            "--customer-id: No such customer.",
        ),
    ],
)
def test_export_errors_name_the_option(world, ana, args, message):
    with pytest.raises(CommandError) as error:
        run("customer_export", *args)
    assert str(error.value) == message
    assert error.value.returncode == 2
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


def test_export_refuses_a_directory_that_does_not_exist(world, ana, tmp_path):
    with pytest.raises(CommandError, match="--out: no directory"):
        run(
            "customer_export",
            "--organisation",
            "banca",
            "--email",
            ANA_EMAIL,
            "--out",
            str(tmp_path / "missing" / "ana.json"),
        )
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


def test_erase_needs_yes_and_then_erases_audited_as_the_system(world, ana):
    with pytest.raises(CommandError, match="--yes: confirm the erasure"):
        run("customer_erase", "--organisation", "banca", "--phone", ANA_PHONE)
    assert Customer.objects.get(pk=ana.pk).erased_at is None
    output = run("customer_erase", "--organisation", "banca", "--phone", ANA_PHONE, "--yes")
    assert (
        output == f"Erased customer {ana.pk} "
        "(rows per source: customers 6, surveys 0, listening 0, loop 0).\n"
    )
    assert CustomerIdentity.objects.filter(customer=ana).count() == 0
    event = AuditEvent.objects.get(action="customer.erased")
    assert (event.actor, event.organisation) == (None, world.org)
    assert event.detail == {
        "via": "cli",
        "customer_id": ana.pk,
        "rows": {"customers": 6, "surveys": 0, "listening": 0, "loop": 0},
    }


def test_erasing_again_from_the_command_line_finds_nobody(world, ana):
    run("customer_erase", "--organisation", "banca", "--customer-id", str(ana.pk), "--yes")
    with pytest.raises(CommandError) as error:
        run("customer_erase", "--organisation", "banca", "--email", ANA_EMAIL, "--yes")
    assert str(error.value) == "--email: No customer has this identity."
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


def test_the_command_line_acts_only_in_the_organisation_it_names(world, ana):
    with pytest.raises(CommandError) as error:
        run("customer_erase", "--organisation", "other", "--customer-id", str(ana.pk), "--yes")
    assert str(error.value) == "--customer-id: No such customer."
    assert Customer.objects.get(pk=ana.pk).full_name == "Ana Popescu"
