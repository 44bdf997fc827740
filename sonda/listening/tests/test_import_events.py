"""`import_events FILE`: events from CSV, NDJSON and Parquet, checked like the API's, invalid rows
told by row and column, a summary line, and exit codes a script can act on."""

import csv
import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from sonda.customers.models import CustomerIdentity
from sonda.listening.models import Event, Invitation
from sonda.listening.tests.listening_factories import TriggerRuleFactory
from sonda.surveys.tests.factories import make_published_survey

OCCURRED = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
HEADER = ["type", "occurred_at", "email", "phone", "external_source", "external_id"]
HEADER += ["unit_code", "touchpoint", "idempotency_key", "attr.product", "attr.amount"]


def row(n: int, **changes: str) -> dict[str, str]:
    values = {
        "type": "purchase",
        "occurred_at": (OCCURRED + timedelta(seconds=n)).isoformat(),
        "email": f"client{n}@mail.example",
        "phone": "",
        "external_source": "",
        "external_id": "",
        "unit_code": "N1",
        "touchpoint": "web_shop",
        "idempotency_key": f"order-{n}",
        "attr.product": "card",
        "attr.amount": "120.5",
    }
    values.update(changes)
    return values


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(path: Path, *args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "import_events", str(path), "--organisation", "banca", *args, stdout=out, stderr=err
        )
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_a_csv_file_is_imported_with_identities_units_and_typed_attributes(world, tmp_path):
    path = write_csv(
        tmp_path / "orders.csv",
        [
            row(1),
            row(2, email="", phone="+40721234567"),
            row(3, email="", external_source="crm", external_id="C-3"),
        ],
    )
    code, out, err = run(path)
    assert code == 0, err
    assert out.strip() == "orders.csv: 3 created, 0 duplicates, 0 invalid, 0 invitations"
    first = Event.objects.get(dedupe_key="key:order-1")
    assert first.attributes == {"product": "card", "amount": 120.5}
    assert first.unit_id == world.north_branch.pk
    assert sorted(CustomerIdentity.objects.values_list("kind", "source", "value")) == [
        ("email", "", "client1@mail.example"),
        ("external", "crm", "C-3"),
        ("phone", "", "+40721234567"),
    ]


def test_invalid_rows_are_told_by_row_and_column_and_the_others_are_stored(world, tmp_path):
    rows = [row(n) for n in range(2100)]
    rows[5]["occurred_at"] = "5 March"
    rows[2050]["unit_code"] = "Z9"
    rows[7]["phone"] = "+40721234567"  # two identities on one row
    code, out, err = run(write_csv(tmp_path / "orders.csv", rows))
    assert code == 1
    assert "row 7, column occurred_at: '5 March' is not an ISO 8601 date and time" in err
    assert "row 9, column email/phone/external_id: must be one identity" in err
    assert "row 2052, column unit_code: no unit with code 'Z9'" in err
    assert "3 rows were not imported" in err
    assert "2097 created, 0 duplicates, 3 invalid" in out
    assert Event.objects.count() == 2097


def test_importing_the_same_file_again_adds_nothing_and_invites_no_one_twice(world, tmp_path):
    TriggerRuleFactory(
        survey=make_published_survey(world.scope(world.analyst)), delivery_order=["email"]
    )
    path = write_csv(tmp_path / "orders.csv", [row(n) for n in range(30)])
    assert run(path)[1].strip().endswith("30 created, 0 duplicates, 0 invalid, 30 invitations")
    assert run(path)[1].strip().endswith("0 created, 30 duplicates, 0 invalid, 0 invitations")
    assert Invitation.objects.count() == 30


def test_ndjson_lines_are_the_apis_event_objects(world, tmp_path):
    path = tmp_path / "calls.ndjson"
    lines = [
        json.dumps(
            {
                "type": "call_completed",
                "occurred_at": OCCURRED.isoformat(),
                "customer": {"email": "ana@mail.example"},
                "attributes": {"wait_minutes": 4},
                "source": "ivr",
                "source_id": "c-1",
            }
        ),
        "{broken",
        json.dumps({"type": "call_completed", "occurred_at": OCCURRED.isoformat(), "colour": 1}),
    ]
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(path)
    assert code == 1
    assert "row 2, column item: is not valid JSON" in err
    assert "row 3, column colour: unknown field" in err
    assert Event.objects.get().attributes == {"wait_minutes": 4}


def test_a_parquet_file_is_read_in_record_batches(world, tmp_path):
    count = 4500
    table = pa.table(
        {
            "type": ["delivery"] * count,
            "occurred_at": pa.array(
                [OCCURRED - timedelta(minutes=n) for n in range(count)], pa.timestamp("us", "UTC")
            ),
            "external_source": ["erp"] * count,
            "external_id": [f"K{n % 1000}" for n in range(count)],
            "source": ["erp"] * count,
            "source_id": [f"d-{n}" for n in range(count)],
            "attr.parcels": list(range(count)),
        }
    )
    path = tmp_path / "deliveries.parquet"
    pq.write_table(table, path, row_group_size=1000)
    code, out, err = run(path)
    assert code == 0, err
    assert "4500 created" in out
    assert CustomerIdentity.objects.count() == 1000
    assert Event.objects.get(source_id="d-7").attributes == {"parcels": 7}


def test_the_format_can_be_named_when_the_extension_does_not_tell(world, tmp_path):
    path = write_csv(tmp_path / "orders.txt", [row(1)])
    code, _, err = run(path)
    assert code == 2
    assert "--format" in err
    assert run(path, "--format", "csv")[0] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--user", "nobody@banca.example"], "--user: nobody@banca.example is not a member"),
        (["--user", "executive@banca.example"], "--user: executive@banca.example is executive"),
    ],
)
def test_usage_errors_name_the_option(world, tmp_path, args, says):
    code, _, err = run(write_csv(tmp_path / "orders.csv", [row(1)]), *args)
    assert code == 2
    assert says in err
    assert Event.objects.count() == 0


def test_an_unknown_organisation_or_column_is_a_usage_error(world, tmp_path):
    path = write_csv(tmp_path / "orders.csv", [row(1)])
    err = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_events", str(path), "--organisation", "nope", stderr=err)
    assert failed.value.returncode == 2
    assert "--organisation: no organisation 'nope'" in str(failed.value)
    odd = write_csv(tmp_path / "odd.csv", [{"type": "x", "colour": "red"}], ["type", "colour"])
    code, _, message = run(odd)
    assert code == 2
    assert "unknown column 'colour'" in message
