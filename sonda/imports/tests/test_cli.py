"""The `sonda` command in this process: exit codes and messages of imports and tokens."""

import pytest

from sonda.accounts.models import ApiToken, AuditEvent
from sonda.cli import main
from sonda.imports.tests.helpers import csv_file
from sonda.org.models import Unit

UNITS = csv_file("code,name,type,parent_code", "N1-T1,Team 1,team,N1", "N1-T2,Team 2,team,N1")
BROKEN = csv_file("code,name,type,parent_code", "N1-T1,Team 1,team,N1", "N1-T2,,team,NOWHERE")


@pytest.fixture(autouse=True)
def no_embedded_secret_key(tmp_path, monkeypatch):
    # The command reads var/secret_key of an embedded setup; the tests have none.
    monkeypatch.setenv("SONDA_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def units_file(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(UNITS)
    return path


def unit_codes(org) -> set[str]:
    return set(Unit.objects.filter(organisation=org).values_list("code", flat=True))


def test_import_prints_what_it_did(world, units_file, capsys):
    code = main(["import", "units", str(units_file), "--organisation", "banca"])

    assert code == 0
    assert capsys.readouterr().out == "Imported 2 units rows (2 created, 0 updated, 0 unchanged).\n"
    assert {"N1-T1", "N1-T2"} <= unit_codes(world.org)


def test_importing_the_same_file_again_reports_it_unchanged(world, units_file, capsys):
    main(["import", "units", str(units_file), "--organisation", "banca"])
    code = main(["import", "units", str(units_file), "--organisation", "banca"])
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "Imported 2 units rows (0 created, 0 updated, 2 unchanged)."
    )


def test_a_dry_run_writes_nothing(world, units_file, capsys):
    before = unit_codes(world.org)
    code = main(["import", "units", str(units_file), "--organisation", "banca", "--dry-run"])
    assert code == 0
    assert capsys.readouterr().out == (
        "Dry run, nothing written: 2 units rows would import (2 created, 0 updated, 0 unchanged).\n"
    )
    assert unit_codes(world.org) == before


def test_broken_rows_exit_2_naming_row_and_column_and_import_nothing(world, tmp_path, capsys):
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN)
    before = unit_codes(world.org)

    code = main(["import", "units", str(path), "--organisation", "banca"])

    assert code == 2
    assert capsys.readouterr().err == (
        f"sonda: error: {path}: nothing was imported; 2 problems:\n"
        "row 3, column name: a value is required\n"
        "row 3, column parent_code: no unit with code NOWHERE in the file or in the organisation\n"
    )
    assert unit_codes(world.org) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--organisation", "nope"], "--organisation: no organisation 'nope'"),
        (
            ["--organisation", "banca", "--user", "admin@other.example"],
            "--user: admin@other.example is not a member of 'banca'",
        ),
        (
            ["--organisation", "banca", "--user", "executive@banca.example"],
            "Your role (executive) may not import units.",
        ),
        (
            ["--organisation", "banca", "--region", "PL"],
            "--region: only customer imports read phone numbers",
        ),
    ],
)
def test_wrong_options_exit_2_naming_the_option(world, units_file, capsys, arguments, message):
    before = unit_codes(world.org)
    code = main(["import", "units", str(units_file), *arguments])
    assert code == 2
    assert capsys.readouterr().err == f"sonda: error: {message}\n"
    assert unit_codes(world.org) == before


def test_a_missing_file_exits_2(world, tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    assert main(["import", "units", str(missing), "--organisation", "banca"]) == 2
    assert capsys.readouterr().err == (
        f"sonda: error: FILE: cannot read {missing}: No such file or directory\n"
    )


def test_a_file_that_is_not_utf8_exits_2(world, tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("code,name,type\nȘ1,Țară,branch\n".encode("utf-16"))
    assert main(["import", "units", str(path), "--organisation", "banca"]) == 2
    assert capsys.readouterr().err == (
        f"sonda: error: FILE: {path} is not UTF-8 text (save it as CSV UTF-8)\n"
    )


def test_customers_import_reads_national_numbers_in_the_given_region(world, tmp_path, capsys):
    path = tmp_path / "customers.csv"
    path.write_text(csv_file("phone,full_name", "512 345 678,Jan Kowalski"))
    code = main(["import", "customers", str(path), "--organisation", "banca", "--region", "PL"])
    assert code == 0
    assert capsys.readouterr().out == (
        "Imported 1 customers rows (1 created, 0 updated, 0 unchanged).\n"
    )


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_a_missing_organisation_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["import", "units", "units.csv"])
    assert exit_.value.code == 2
    assert "the following arguments are required: --organisation" in capsys.readouterr().err


def test_token_create_prints_the_secret_once_and_stores_only_its_hash(world, capsys):
    code = main(
        [
            "token",
            "create",
            "--organisation",
            "banca",
            "--user",
            "analyst@banca.example",
            "--name",
            "crm sync",
        ]
    )

    assert code == 0
    output = capsys.readouterr()
    secret = output.out.strip()
    token = ApiToken.objects.get()
    assert secret.startswith(f"sonda_{token.prefix}_")
    assert secret not in token.secret_hash
    assert (token.user, token.organisation, token.name) == (world.analyst, world.org, "crm sync")
    assert output.err == (
        f"Created API token {token.pk} 'crm sync' for analyst@banca.example in banca. "
        "Keep the secret now: it is not shown again.\n"
    )
    assert AuditEvent.objects.filter(action="api_token.created", actor=world.analyst).count() == 1


def test_token_create_for_someone_outside_the_organisation_exits_2(world, capsys):
    code = main(
        [
            "token",
            "create",
            "--organisation",
            "banca",
            "--user",
            "admin@other.example",
            "--name",
            "x",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "sonda: error: --user: admin@other.example is not a member of 'banca'\n"
    )
    assert not ApiToken.objects.exists()


def test_token_create_without_a_name_exits_2_naming_it(world, capsys):
    code = main(
        [
            "token",
            "create",
            "--organisation",
            "banca",
            "--user",
            "analyst@banca.example",
            "--name",
            " ",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err == "sonda: error: --name: give the token a name\n"
    assert not ApiToken.objects.exists()


def test_token_revoke_revokes_and_audits(world, capsys):
    main(
        [
            "token",
            "create",
            "--organisation",
            "banca",
            "--user",
            "analyst@banca.example",
            "--name",
            "crm",
        ]
    )
    token = ApiToken.objects.get()
    capsys.readouterr()

    code = main(["token", "revoke", "--organisation", "banca", "--id", str(token.pk)])

    assert code == 0
    assert capsys.readouterr().out == f"Revoked API token {token.pk} 'crm' ({token.prefix}…).\n"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert (
        AuditEvent.objects.filter(action="api_token.revoked", target_id=str(token.pk)).count() == 1
    )


def test_token_revoke_of_another_organisations_token_exits_2(world, capsys):
    main(
        [
            "token",
            "create",
            "--organisation",
            "other",
            "--user",
            "admin@other.example",
            "--name",
            "theirs",
        ]
    )
    token = ApiToken.objects.get()
    capsys.readouterr()

    code = main(["token", "revoke", "--organisation", "banca", "--id", str(token.pk)])

    assert code == 2
    assert capsys.readouterr().err == f"sonda: error: --id: no API token {token.pk} in 'banca'\n"
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_list_shows_the_organisations_tokens(world, capsys):
    main(
        [
            "token",
            "create",
            "--organisation",
            "banca",
            "--user",
            "analyst@banca.example",
            "--name",
            "crm",
        ]
    )
    token = ApiToken.objects.get()
    capsys.readouterr()
    assert main(["token", "list", "--organisation", "banca"]) == 0
    assert capsys.readouterr().out == (
        f"{token.pk}\tcrm\t{token.prefix}…\tanalyst@banca.example\t"
        f"{token.created_at:%Y-%m-%d}\tactive\n"
    )
