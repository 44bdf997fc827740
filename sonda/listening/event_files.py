"""Reading event files (CSV, NDJSON, Parquet) as a stream of API-shaped items, with row numbers.

Files may be far larger than memory: each reader yields one record at a time (Parquet by record
batches), and ingestion takes them in chunks. A record becomes the same object the API takes, so
both paths check and store events alike; an error on a field is then told back in the file's own
terms (`row 7, column attr.product`).

Row numbers: CSV counts the header as row 1, as a spreadsheet does; NDJSON counts lines; Parquet
counts records from 1.
"""

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sonda.listening.ingest import UnreadableItem

FORMATS = ("csv", "ndjson", "parquet")
EXTENSIONS = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}
ATTRIBUTE_PREFIX = "attr."
# Columns that are the item's own fields, under the same name.
PLAIN = (
    "type",
    "occurred_at",
    "customer_id",
    "unit_id",
    "unit_code",
    "employee_id",
    "employee_email",
    "channel",
    "touchpoint",
    "journey",
    "stage",
    "idempotency_key",
    "source",
    "source_id",
)
IDENTITY = ("email", "phone", "external_source", "external_id")
COLUMNS = frozenset(PLAIN + IDENTITY)
NUMBER = re.compile(r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$")
BATCH_ROWS = 2_000


class FileProblem(Exception):
    """The file as a whole cannot be read (unknown columns, not a Parquet file...)."""


@dataclass(frozen=True, slots=True)
class Record:
    row: int
    item: object  # an API-shaped mapping, or an UnreadableItem


def format_of(path: Path, given: str | None) -> str:
    if given:
        return given
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise FileProblem(
            f"cannot tell the format from '{path.suffix or path.name}': "
            "name it .csv, .ndjson or .parquet, or give --format"
        )
    return found


def records(path: Path, file_format: str) -> Iterator[Record]:
    if file_format == "csv":
        return _csv(path)
    if file_format == "ndjson":
        return _ndjson(path)
    if file_format == "parquet":
        return _parquet(path)
    raise FileProblem(f"unknown format '{file_format}' ({', '.join(FORMATS)})")


def _check_columns(columns: list[str]) -> None:
    unknown = [
        name for name in columns if name not in COLUMNS and not name.startswith(ATTRIBUTE_PREFIX)
    ]
    if unknown:
        raise FileProblem(
            f"unknown column '{unknown[0]}' (known: {', '.join(PLAIN + IDENTITY)}, attr.<name>)"
        )
    if "type" not in columns or "occurred_at" not in columns:
        raise FileProblem("the columns type and occurred_at are required")


def _cell(value: object) -> object:
    """A value as the API would have it: text trimmed, empty as absent, dates in ISO 8601."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _attribute(value: object) -> object:
    # A CSV cell is always text; numbers are read as numbers so that rules can compare them.
    if isinstance(value, str) and NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def item_of(values: dict[str, object]) -> dict[str, Any]:
    """One record's columns as an event object."""
    cells = {name: _cell(value) for name, value in values.items()}
    item: dict[str, Any] = {name: cells[name] for name in PLAIN if cells.get(name) is not None}
    given = [name for name in ("email", "phone") if cells.get(name) is not None]
    if cells.get("external_id") is not None or cells.get("external_source") is not None:
        given.append("external")
    if len(given) > 1:
        item["customer"] = {name: cells.get(name) for name in given}  # refused: one identity
    elif given == ["external"]:
        item["customer"] = {
            "external": {"source": cells.get("external_source") or "", "id": cells["external_id"]}
        }
    elif given:
        item["customer"] = {given[0]: cells[given[0]]}
    attributes = {
        name.removeprefix(ATTRIBUTE_PREFIX): _attribute(value)
        for name, value in cells.items()
        if name.startswith(ATTRIBUTE_PREFIX) and value is not None
    }
    if attributes:
        item["attributes"] = attributes
    return item


def _csv(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise FileProblem("the file is empty")
        columns = [name.strip() for name in header]
        _check_columns(columns)
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(columns):
                yield Record(
                    number,
                    UnreadableItem(f"has {len(values)} cells, the header {len(columns)}"),
                )
                continue
            yield Record(number, item_of(dict(zip(columns, values, strict=True))))


def _ndjson(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8-sig") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield Record(number, json.loads(line))
            except ValueError as exc:
                yield Record(number, UnreadableItem(f"is not valid JSON ({exc.args[0]})"))


def _parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq  # only the Parquet path needs it

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error kinds for a file it cannot read
        raise FileProblem(f"not a Parquet file ({exc})") from exc
    columns = list(parquet.schema_arrow.names)
    _check_columns(columns)
    number = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        for values in batch.to_pylist():
            number += 1
            yield Record(number, item_of(values))


def column_of(field: str, file_format: str) -> str:
    """The file's column an item's field came from."""
    if file_format == "ndjson":
        return field
    if field.startswith("attributes."):
        return ATTRIBUTE_PREFIX + field.removeprefix("attributes.")
    if field in ("customer.email", "customer.phone"):
        return field.removeprefix("customer.")
    if field == "customer.external.source":
        return "external_source"
    if field.startswith("customer.external") or field == "customer":
        return "external_id" if field.startswith("customer.external") else "email/phone/external_id"
    if field == "item":
        return "(row)"
    return field
